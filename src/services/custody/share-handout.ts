import type { PublicKey } from "openpgp";
import { custodianNames, shareHash } from "../../core/custody.js";
import { viewOf } from "../../core/encoding.js";
import { badInput } from "../../core/errors.js";
import { encryptToKey, fingerprintOf, readPublicKey, userIdOf } from "../../core/pgp.js";
import { checkShareCounts } from "../../core/shamir.js";
import type { CustodianRecord } from "../../store/store.js";

/** Turning a root key's shares into what custodians get: counts checked, holders named, PGP-encrypted. */

/** How shares are to be handed out: counts, and optionally a PGP key and a name per custodian. */
export interface ShareSpec {
  secretShares: number;
  secretThreshold: number;
  pgpKeys?: string[];
  /** One name per share (breakglass's own); defaults to the PGP key's user ID, else "custodian N". */
  custodians?: string[];
}

/** What a set of shares will be: one PGP fingerprint per share (none without PGP keys) and its holder. */
export interface SharePlan {
  pgpFingerprints: string[];
  custodians: string[];
}

/** Checks share counts and reads one PGP key per share when given. */
export async function readShareSpec(spec: ShareSpec) {
  checkShareCounts(spec.secretShares, spec.secretThreshold);
  const pgpKeys = spec.pgpKeys ?? [];
  if (pgpKeys.length > 0 && pgpKeys.length !== spec.secretShares)
    throw badInput(
      `pgp_keys has ${pgpKeys.length} keys but secret_shares is ${spec.secretShares}: give one key per share`,
    );
  if (spec.custodians !== undefined && spec.custodians.length !== spec.secretShares)
    throw badInput(
      `custodians has ${spec.custodians.length} names but secret_shares is ${spec.secretShares}: give one name per share`,
    );
  return Promise.all(pgpKeys.map((text, i) => readPublicKey(text, `pgp_keys[${i}]`)));
}

export function custodianRecords(
  clusterId: string,
  shares: Uint8Array[],
  spec: ShareSpec,
  keys: PublicKey[],
  createdAt: string,
): CustodianRecord[] {
  const names = holdersOf(spec, keys);
  return shares.map((share, i) => ({
    shareIndex: i + 1,
    name: names[i] as string,
    pgpFingerprint: keys[i] ? fingerprintOf(keys[i]) : null,
    shareHash: shareHash(clusterId, share),
    createdAt,
    lastVerified: null,
  }));
}

/** The custodian of each share of `spec`: as named, else the PGP key's first user ID, else "custodian N". */
export function holdersOf(spec: ShareSpec, keys: PublicKey[]): string[] {
  return custodianNames(
    spec.secretShares,
    spec.custodians,
    Array.from({ length: spec.secretShares }, (_, i) => (keys[i] ? userIdOf(keys[i]) : null)),
  );
}

/** Shares as given to custodians: raw, or encrypted to each one's PGP key (the raw copy wiped). */
export function handOut(shares: Uint8Array[], keys: PublicKey[]): Promise<Uint8Array[]> {
  return Promise.all(
    shares.map(async (share, i) => {
      const key = keys[i];
      if (!key) return share;
      // As Vault: the custodian decrypts to the hex share, which `operator unseal` accepts as typed.
      const hexText = Buffer.from(viewOf(share).toString("hex"), "utf8");
      try {
        return await encryptToKey(key, hexText);
      } finally {
        hexText.fill(0);
        share.fill(0);
      }
    }),
  );
}
