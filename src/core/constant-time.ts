import { timingSafeEqual } from "node:crypto";

/**
 * Whether two secrets (MACs, shares, keys, CSRF tokens) are equal, in a time that depends only on
 * their lengths, never on where they first differ. Lengths are not hidden: every secret compared
 * here has a fixed, public length.
 */
export function sameSecret(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const left = typeof a === "string" ? Buffer.from(a, "utf8") : a;
  const right = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  return left.length === right.length && timingSafeEqual(left, right);
}
