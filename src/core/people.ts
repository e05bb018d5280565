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

/** The longest lock, in seconds. */
export const LONGEST_LOCKOUT_SECONDS = 3600;

/**
 * An address's run of failures starts over once it began this long ago and no attempt came for
 * the longest lock, so the typos of an office behind one NAT do not add up for ever. A person's
 * run ends only with their next login: guessing at one account is what the lock is for.
 */
export const ADDRESS_RUN_SECONDS = 24 * 3600;

/**
 * How long a subject stays locked after its n-th failed login in a row: nothing for the free
 * ones, then 1 s, doubling with every further failure, at most an hour.
 */
export function lockoutSeconds(failures: number, free: number): number {
  if (failures <= free) return 0;
  return Math.min(2 ** (failures - free - 1), LONGEST_LOCKOUT_SECONDS);
}

/**
 * When the lock left by the attempt counted `failures`-th, at `attemptAt`, ends (epoch ms); 0
 * when it left none. Every attempt is counted as a failure before its password is checked, so the
 * lock runs from the attempt, and an attempt that succeeds takes itself back.
 */
export function lockEnds(failures: number, attemptAt: string | null, free: number): number {
  const seconds = lockoutSeconds(failures, free);
  return seconds > 0 && attemptAt !== null ? Date.parse(attemptAt) + seconds * 1000 : 0;
}
