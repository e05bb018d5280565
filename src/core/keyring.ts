import { randomBytes } from "node:crypto";

/**
 * The keyring: every key the server needs once unsealed, stored encrypted under the root key.
 * Kept as Buffers (never strings) so that sealing can overwrite them.
 * Binary layout, version 1:
 *   u8 version | 32 token HMAC key | 32 audit signing seed (Ed25519) | u16 n | n × (u32 version | 32 data key)
 */

export const KEY_BYTES = 32;
const FORMAT_VERSION = 1;

export interface Keyring {
  tokenHmacKey: Buffer;
  auditSigningSeed: Buffer;
  dataKeys: Map<number, Buffer>;
  currentDataKeyVersion: number;
}

export function createKeyring(): Keyring {
  return {
    tokenHmacKey: randomBytes(KEY_BYTES),
    auditSigningSeed: randomBytes(KEY_BYTES),
    dataKeys: new Map([[1, randomBytes(KEY_BYTES)]]),
    currentDataKeyVersion: 1,
  };
}

export function encodeKeyring(keyring: Keyring): Buffer {
  const parts: Buffer[] = [Buffer.from([FORMAT_VERSION]), keyring.tokenHmacKey, keyring.auditSigningSeed];
  const count = Buffer.alloc(2);
  count.writeUInt16BE(keyring.dataKeys.size);
  parts.push(count);
  for (const [version, key] of keyring.dataKeys) {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(version);
    parts.push(header, key);
  }
  return Buffer.concat(parts);
}

export function decodeKeyring(bytes: Buffer): Keyring {
  if (bytes[0] !== FORMAT_VERSION) throw new Error(`unknown keyring format ${bytes[0]}`);
  let offset = 1;
  const take = (length: number) => {
    if (offset + length > bytes.length) throw new Error("keyring is truncated");
    const part = Buffer.from(bytes.subarray(offset, offset + length)); // a copy: the source is wiped by the caller
    offset += length;
    return part;
  };
  const tokenHmacKey = take(KEY_BYTES);
  const auditSigningSeed = take(KEY_BYTES);
  const count = take(2).readUInt16BE();
  const dataKeys = new Map<number, Buffer>();
  let currentDataKeyVersion = 0;
  for (let i = 0; i < count; i++) {
    const version = take(4).readUInt32BE();
    dataKeys.set(version, take(KEY_BYTES));
    currentDataKeyVersion = Math.max(currentDataKeyVersion, version);
  }
  return { tokenHmacKey, auditSigningSeed, dataKeys, currentDataKeyVersion };
}

/** Overwrites every key in place; the keyring is useless afterwards. */
export function wipeKeyring(keyring: Keyring): void {
  keyring.tokenHmacKey.fill(0);
  keyring.auditSigningSeed.fill(0);
  for (const key of keyring.dataKeys.values()) key.fill(0);
  keyring.dataKeys.clear();
}
