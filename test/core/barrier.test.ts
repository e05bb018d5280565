import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BarrierOpenError, openBytes, sealBytes } from "../../src/core/barrier.js";
import {
  createKeyring,
  decodeKeyring,
  encodeKeyring,
  wipeKeyring,
  withNewDataKey,
} from "../../src/core/keyring.js";

describe("the barrier (AES-256-GCM with associated data)", () => {
  const key = randomBytes(32);

  it("opens what it sealed, with the same associated data", () => {
    const sealed = sealBytes(key, Buffer.from("seed bytes"), "totp_keys/a/v1");
    expect(openBytes(key, sealed, "totp_keys/a/v1").toString()).toBe("seed bytes");
  });

  it("refuses a ciphertext moved to another row (different associated data)", () => {
    const sealed = sealBytes(key, Buffer.from("seed bytes"), "totp_keys/a/v1");
    expect(() => openBytes(key, sealed, "totp_keys/b/v1")).toThrow(BarrierOpenError);
  });

  it("refuses a ciphertext with one flipped bit, a wrong key, or a truncated one", () => {
    const sealed = sealBytes(key, Buffer.from("seed bytes"), "aad");
    const flipped = Buffer.from(sealed);
    flipped[15] = (flipped[15] as number) ^ 1;
    expect(() => openBytes(key, flipped, "aad")).toThrow(BarrierOpenError);
    expect(() => openBytes(randomBytes(32), sealed, "aad")).toThrow(BarrierOpenError);
    expect(() => openBytes(key, sealed.subarray(0, 20), "aad")).toThrow(BarrierOpenError);
  });

  it("uses a fresh nonce each time", () => {
    expect(sealBytes(key, Buffer.from("x"), "a").equals(sealBytes(key, Buffer.from("x"), "a"))).toBe(false);
  });
});

describe("the keyring", () => {
  it("round-trips through its binary encoding", () => {
    const keyring = createKeyring(Date.now());
    const decoded = decodeKeyring(encodeKeyring(keyring));
    expect(decoded.tokenHmacKey.equals(keyring.tokenHmacKey)).toBe(true);
    expect(decoded.auditSigningSeed.equals(keyring.auditSigningSeed)).toBe(true);
    expect(decoded.currentDataKeyVersion).toBe(1);
    expect(decoded.dataKeys.get(1)?.key.equals(keyring.dataKeys.get(1)?.key as Buffer)).toBe(true);
    expect(decoded.dataKeys.get(1)?.installedAt).toBe(keyring.dataKeys.get(1)?.installedAt);
  });

  it("adds a data key version that becomes current, keeping the older ones", () => {
    const keyring = createKeyring(1_000);
    const rotated = decodeKeyring(encodeKeyring(withNewDataKey(keyring, 2_000)));
    expect(rotated.currentDataKeyVersion).toBe(2);
    expect(rotated.dataKeys.get(1)?.key.equals(keyring.dataKeys.get(1)?.key as Buffer)).toBe(true);
    expect(rotated.dataKeys.get(2)?.installedAt).toBe(2_000);
    expect(rotated.dataKeys.get(2)?.key.equals(keyring.dataKeys.get(1)?.key as Buffer)).toBe(false);
  });

  it("still reads the first format, without install times", () => {
    const keyring = createKeyring(Date.now());
    const v2 = encodeKeyring(keyring);
    // Format 1: the same, without the 8-byte install time after each version number.
    const v1 = Buffer.concat([Buffer.from([1]), v2.subarray(1, 67), v2.subarray(67, 71), v2.subarray(79)]);
    const decoded = decodeKeyring(v1);
    expect(decoded.dataKeys.get(1)?.key.equals(keyring.dataKeys.get(1)?.key as Buffer)).toBe(true);
    expect(decoded.dataKeys.get(1)?.installedAt).toBe(0);
  });

  it("is overwritten with zeros when wiped", () => {
    const keyring = createKeyring(Date.now());
    const dataKey = keyring.dataKeys.get(1)?.key as Buffer;
    wipeKeyring(keyring);
    expect(keyring.tokenHmacKey.every((b) => b === 0)).toBe(true);
    expect(dataKey.every((b) => b === 0)).toBe(true);
    expect(keyring.dataKeys.size).toBe(0);
  });
});
