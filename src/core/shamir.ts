import { combine, split } from "shamir-secret-sharing";
import { badInput } from "./errors.js";

/**
 * k-of-n splitting of the root key, by `shamir-secret-sharing` (audited). With a single share the
 * share is the key itself, as in Vault. A share of a 32-byte key is 33 bytes (the x coordinate last).
 */

export const MAX_SHARES = 255;

export function checkShareCounts(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < 1 || shares > MAX_SHARES)
    throw badInput(`secret_shares must be a whole number from 1 to ${MAX_SHARES}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > shares)
    throw badInput("secret_threshold must be a whole number from 1 to secret_shares");
  if (shares > 1 && threshold === 1)
    throw badInput(
      "secret_threshold must be at least 2 when secret_shares is more than 1 (or every share would be the key)",
    );
}

export async function splitRootKey(
  rootKey: Uint8Array,
  shares: number,
  threshold: number,
): Promise<Uint8Array[]> {
  checkShareCounts(shares, threshold);
  // The library wants exact Uint8Arrays (not Buffers); the copies are wiped once used.
  const secret = Uint8Array.from(rootKey);
  if (shares === 1) return [secret];
  try {
    return await split(secret, shares, threshold);
  } finally {
    secret.fill(0);
  }
}

/** Combines shares; the result is only a candidate: the caller proves it by opening the keyring. */
export async function combineShares(shares: Uint8Array[], keyBytes: number): Promise<Uint8Array> {
  if (shares.length === 1) return Uint8Array.from(shares[0] as Uint8Array);
  for (const share of shares) {
    if (share.length !== keyBytes + 1) throw badInput(`a share of this vault is ${keyBytes + 1} bytes`);
  }
  const copies = shares.map((share) => Uint8Array.from(share));
  try {
    return await combine(copies);
  } finally {
    for (const copy of copies) copy.fill(0);
  }
}

export function expectedShareLength(threshold: number, keyBytes: number): number {
  return threshold === 1 ? keyBytes : keyBytes + 1;
}
