import { badInput } from "./errors.js";

/** Names and passwords of people, checked at the boundary. */

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const GROUP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function checkUsername(name: string): string {
  if (!USERNAME.test(name))
    throw badInput(
      "username must be 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return name;
}

export function checkGroupName(name: string): string {
  if (!GROUP_NAME.test(name))
    throw badInput(
      "group name must be 1-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return name;
}

export function checkPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw badInput(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw badInput(`password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export function checkEmail(email: string): string {
  if (email !== "" && !EMAIL.test(email)) throw badInput("email is not an e-mail address");
  return email;
}

/** Failed logins in a row that cost nothing yet: a user mistypes; an address may be many people behind NAT. */
export const FREE_FAILURES = { user: 4, address: 49 } as const;

/**
 * How long a subject stays locked after its n-th failed login in a row: nothing for the free
 * ones, then 1 s, doubling with every further failure, at most an hour.
 */
export function lockoutSeconds(failures: number, free: number): number {
  if (failures <= free) return 0;
  return Math.min(2 ** (failures - free - 1), 3600);
}
