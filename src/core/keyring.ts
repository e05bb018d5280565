import { randomBytes } from "node:crypto";

/**
 * The keyring: every key the server needs once unsealed, stored encrypted under the root key.
 * Kept as Buffers (never strings) so that sealing can overwrite them.
 * Binary layout, version 2 (version 1 lacked the install times, read as unknown):
 *   u8 version | 32 token HMAC key | 32 audit signing seed (Ed25519) | u16 n |
 *   n × (u32 data key version | u64 install time, ms since the epoch | 32 data key)
 */

export const KEY_BYTES = 32;
const FORMAT_VERSION = 2;

export interface DataKey {
  key: Buffer;
  /** When this version was added (0 when unknown: made before install times were kept). */
  installedAt: number;
}

export interface Keyring {
  tokenHmacKey: Buffer;
  auditSigningSeed: Buffer;
  dataKeys: Map<number, DataKey>;
  currentDataKeyVersion: number;
}

export function createKeyring(now: number): Keyring {
  return {
    tokenHmacKey: randomBytes(KEY_BYTES),
    auditSigningSeed: randomBytes(KEY_BYTES),
    dataKeys: new Map([[1, { key: randomBytes(KEY_BYTES), installedAt: now }]]),
    currentDataKeyVersion: 1,
  };
}

/** A copy of `keyring` with one more data key version, which becomes the current one. */
export function withNewDataKey(keyring: Keyring, now: number): Keyring {
  const version = keyring.currentDataKeyVersion + 1;
  const dataKeys = new Map<number, DataKey>();
  for (const [v, dataKey] of keyring.dataKeys) dataKeys.set(v, { ...dataKey, key: Buffer.from(dataKey.key) });
  dataKeys.set(version, { key: randomBytes(KEY_BYTES), installedAt: now });
  return {
    tokenHmacKey: Buffer.from(keyring.tokenHmacKey),
    auditSigningSeed: Buffer.from(keyring.auditSigningSeed),
    dataKeys,
    currentDataKeyVersion: version,
  };
}

export function encodeKeyring(keyring: Keyring): Buffer {
  const parts: Buffer[] = [Buffer.from([FORMAT_VERSION]), keyring.tokenHmacKey, keyring.auditSigningSeed];
  const count = Buffer.alloc(2);
  count.writeUInt16BE(keyring.dataKeys.size);
  parts.push(count);
  for (const [version, dataKey] of keyring.dataKeys) {
    const header = Buffer.alloc(12);
    header.writeUInt32BE(version);
    header.writeBigUInt64BE(BigInt(dataKey.installedAt), 4);
    parts.push(header, dataKey.key);
  }
  return Buffer.concat(parts);
}

export function decodeKeyring(bytes: Buffer): Keyring {
  const format = bytes[0];
  if (format !== 1 && format !== FORMAT_VERSION) throw new Error(`unknown keyring format ${format}`);
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
  const dataKeys = new Map<number, DataKey>();
  let currentDataKeyVersion = 0;
  for (let i = 0; i < count; i++) {
    const version = take(4).readUInt32BE();
    const installedAt = format === 1 ? 0 : Number(take(8).readBigUInt64BE());
    dataKeys.set(version, { key: take(KEY_BYTES), installedAt });
    currentDataKeyVersion = Math.max(currentDataKeyVersion, version);
  }
  return { tokenHmacKey, auditSigningSeed, dataKeys, currentDataKeyVersion };
}

/** Overwrites every key in place; the keyring is useless afterwards. */
export function wipeKeyring(keyring: Keyring): void {
  keyring.tokenHmacKey.fill(0);
  keyring.auditSigningSeed.fill(0);
  for (const dataKey of keyring.dataKeys.values()) dataKey.key.fill(0);
  keyring.dataKeys.clear();
}
