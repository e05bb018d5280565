import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * AES-256-GCM with associated data. The associated data names the row a ciphertext belongs to
 * (table, id, key version), so a ciphertext copied into another row does not open.
 * Layout: nonce (12) || ciphertext || tag (16).
 */

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export class BarrierOpenError extends Error {
  constructor() {
    super("ciphertext does not open with this key and associated data");
    this.name = "BarrierOpenError";
  }
}

export function sealBytes(key: Uint8Array, plaintext: Uint8Array, associatedData: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function openBytes(key: Uint8Array, sealed: Uint8Array, associatedData: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new BarrierOpenError();
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce);
    decipher.setAAD(Buffer.from(associatedData, "utf8"));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new BarrierOpenError();
  }
}
