import { createHash } from "node:crypto";

/**
 * Custodians: who holds which share. A share is recognised by a hash bound to the vault (its
 * cluster id), so a drill can say "this is Alice's share" without combining anything; the hash
 * cannot rebuild a share (a share is 256 random-looking bits).
 */

export function shareHash(clusterId: string, share: Uint8Array): string {
  return createHash("sha256")
    .update("breakglass-share v1\0")
    .update(clusterId)
    .update("\0")
    .update(share)
    .digest("hex");
}

/** Custodian names as given, else from the PGP key's first user ID, else "custodian N". */
export function custodianNames(
  count: number,
  given: string[] | undefined,
  fromKeys: (string | null)[],
): string[] {
  return Array.from({ length: count }, (_, i) => given?.[i]?.trim() || fromKeys[i] || `custodian ${i + 1}`);
}

export const DEFAULT_DRILL_WINDOW_DAYS = 90;

export interface BusFactor {
  /** Custodians who proved their share within the window. */
  verifiedRecently: number;
  /** threshold + 1: the vault survives losing any one of them. */
  needed: number;
  windowDays: number;
  /** Null when enough custodians proved their share; else a sentence saying what to do. */
  warning: string | null;
}

export function busFactorOf(
  custodians: { lastVerified: string | null }[],
  threshold: number,
  windowDays: number,
  now: Date,
): BusFactor {
  const since = now.getTime() - windowDays * 86_400_000;
  const verifiedRecently = custodians.filter(
    (c) => c.lastVerified !== null && Date.parse(c.lastVerified) >= since,
  ).length;
  const needed = Math.min(threshold + 1, custodians.length);
  const proved = `only ${verifiedRecently} of ${custodians.length} custodians proved their share in the last ${windowDays} days`;
  const warning =
    custodians.length === 0
      ? "no custodian is recorded for these shares: rekey to record who holds them"
      : verifiedRecently >= needed
        ? null
        : custodians.length > threshold
          ? `${proved}; at least ${needed} should (one more than the threshold of ${threshold}), or losing one more person could lock the vault: run drills (breakglass custodians drill)`
          : // No spare share at all: "threshold + 1" would ask for more custodians than there are.
            `${proved}; the threshold is ${threshold} of ${custodians.length}, so losing any one custodian locks the vault: run drills (breakglass custodians drill) and rekey to more shares`;
  return { verifiedRecently, needed, windowDays, warning };
}
