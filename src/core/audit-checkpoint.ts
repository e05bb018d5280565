import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import type { AuditAction } from "./audit-actions.js";
import type { AuditEntry, AuditFields, ChainHead } from "./audit-chain.js";
import { badInput } from "./errors.js";

/**
 * Signed checkpoints of the audit chain. A checkpoint is an ordinary entry (action
 * `audit.checkpoint`) whose details carry an Ed25519 signature over the head it follows:
 *
 *   breakglass-audit-checkpoint v1 seq=<signed_seq> hash=<signed_hash> time=<checkpoint time>
 *
 * (one line of ASCII, no newline). Anyone with the public key can check it offline.
 */

export const CHECKPOINT_ACTION = "audit.checkpoint" satisfies AuditAction;

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 (private) and SPKI (public).
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const OPENSSH_KEY_TYPE = "ssh-ed25519";

export function checkpointMessage(signedSeq: number, signedHash: string, time: string): string {
  return `breakglass-audit-checkpoint v1 seq=${signedSeq} hash=${signedHash} time=${time}`;
}

/** The KeyObject keeps its own copy (OpenSSL's, out of our reach); the DER copy made here is wiped. */
export function signingKeyFromSeed(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
}

export function signCheckpoint(
  privateKey: KeyObject,
  signedSeq: number,
  signedHash: string,
  time: string,
): string {
  return sign(null, Buffer.from(checkpointMessage(signedSeq, signedHash, time)), privateKey).toString(
    "base64",
  );
}

export function checkpointSignatureValid(
  publicKey: KeyObject,
  signedSeq: number,
  signedHash: string,
  time: string,
  signature: string,
): boolean {
  try {
    return verify(
      null,
      Buffer.from(checkpointMessage(signedSeq, signedHash, time)),
      publicKey,
      Buffer.from(signature, "base64"),
    );
  } catch {
    return false;
  }
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  return publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_ED25519_PREFIX.length);
}

/** A short, stable name for a verification key: the first 16 hex digits of SHA-256 of the raw key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256").update(rawPublicKey(publicKey)).digest("hex").slice(0, 16);
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ format: "pem", type: "spki" }).toString();
}

/** The key as one OpenSSH line ("ssh-ed25519 AAAA… comment"), as `ssh-keygen -Y verify` and auditors' tools read it. */
export function publicKeyOpenSsh(publicKey: KeyObject, comment = "breakglass-audit"): string {
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([field(Buffer.from(OPENSSH_KEY_TYPE)), field(rawPublicKey(publicKey))]);
  return `${OPENSSH_KEY_TYPE} ${blob.toString("base64")} ${comment}`;
}

export function publicKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPublicKey(signingKeyFromSeed(seed));
}

/** Reads a verification key given as PEM (SPKI) or as an OpenSSH "ssh-ed25519 …" line. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith(OPENSSH_KEY_TYPE)) {
      const blob = Buffer.from(trimmed.split(/\s+/)[1] ?? "", "base64");
      const typeLength = blob.readUInt32BE(0);
      const type = blob.subarray(4, 4 + typeLength).toString();
      const raw = blob.subarray(8 + typeLength);
      if (type !== OPENSSH_KEY_TYPE || raw.length !== 32) throw new Error("not ed25519");
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
    } else {
      key = createPublicKey(trimmed);
    }
  } catch {
    throw badInput("the public key is neither an Ed25519 PEM public key nor an ssh-ed25519 line");
  }
  if (key.asymmetricKeyType !== "ed25519") throw badInput("the public key is not an Ed25519 key");
  return key;
}

/**
 * The fields of a checkpoint entry following `previous`, signed with `privateKey`. Its time is
 * signed too, so it is chosen here: never before the entry it signs (a clock set back).
 */
export function checkpointFields(
  previous: ChainHead | null,
  now: string,
  privateKey: KeyObject,
): AuditFields & { action: typeof CHECKPOINT_ACTION } {
  const time =
    previous?.time !== undefined && Date.parse(previous.time) > Date.parse(now) ? previous.time : now;
  const signedSeq = previous?.seq ?? 0;
  const signedHash = previous?.hash ?? "0".repeat(64);
  return {
    time,
    actor: "system",
    action: CHECKPOINT_ACTION,
    target: "audit",
    outcome: "allowed",
    reason: null,
    request_id: null,
    remote_addr: null,
    user_agent: null,
    approval_ids: [],
    details: {
      signed_seq: signedSeq,
      signed_hash: signedHash,
      key_id: keyIdOf(createPublicKey(privateKey)),
      signature: signCheckpoint(privateKey, signedSeq, signedHash, time),
    },
  };
}

/**
 * Why a checkpoint entry does not hold, or null. It must sign exactly the entry before it; with
 * a key, its signature must verify. A chain rewritten after signing (hashes recomputed by
 * someone without the key) fails here, at the first checkpoint after the change.
 */
export function checkpointProblem(
  entry: AuditEntry,
  publicKey: KeyObject | undefined,
  firstCovered: number,
): string | null {
  const { signed_seq, signed_hash, key_id, signature } = entry.details;
  const rewritten = `entries ${firstCovered} to ${entry.seq - 1} were changed after they were signed`;
  if (signed_seq !== entry.seq - 1 || signed_hash !== entry.prev_hash)
    return `checkpoint at entry ${entry.seq} does not sign the entry before it: ${rewritten}`;
  if (!publicKey) return null;
  if (key_id !== keyIdOf(publicKey))
    return `checkpoint at entry ${entry.seq} is signed by key ${String(key_id)}, not by the key given`;
  if (!checkpointSignatureValid(publicKey, signed_seq, signed_hash, entry.time, String(signature)))
    return `checkpoint at entry ${entry.seq} has a bad signature: ${rewritten}, or the checkpoint was forged`;
  return null;
}
