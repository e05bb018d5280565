import { badInput } from "./errors.js";

// Vault's names (GenericNameWithAtRegex) may hold '@' (an account's e-mail address), never at
// either end; breakglass also still takes the '.' and '-' at the end it always took.
const KEY_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9._@-]{0,126}[A-Za-z0-9._-])?$/;

export function checkKeyName(name: string): string {
  if (!KEY_NAME.test(name))
    throw badInput(
      "key name must be 1-128 characters: letters, digits, '.', '_', '-' or '@', starting with a letter, digit or '_', not ending with '@'",
    );
  return name;
}

/** A key name made from an account's issuer and label, for imports that do not name keys. */
export function keyNameFor(issuer: string, accountName: string): string {
  const base = [issuer, accountName]
    .filter((part) => part.length > 0)
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|-+$/g, "")
    .slice(0, 100);
  return base.length > 0 ? base : "imported";
}
