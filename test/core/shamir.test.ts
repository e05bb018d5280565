import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkShareCounts, combineShares, splitRootKey } from "../../src/core/shamir.js";

describe("splitting the root key", () => {
  it("recombines from any k of n shares", async () => {
    const key = randomBytes(32);
    const shares = await splitRootKey(key, 5, 3);
    expect(shares).toHaveLength(5);
    expect(shares.every((s) => s.length === 33)).toBe(true);
    for (const pick of [
      [0, 1, 2],
      [4, 2, 0],
      [1, 3, 4],
    ]) {
      const combined = await combineShares(
        pick.map((i) => shares[i] as Uint8Array),
        32,
      );
      expect(Buffer.from(combined).equals(key)).toBe(true);
    }
  });

  it("does not recover the key from fewer than k shares", async () => {
    const key = randomBytes(32);
    const shares = await splitRootKey(key, 5, 3);
    const combined = await combineShares([shares[0] as Uint8Array, shares[1] as Uint8Array], 32);
    expect(Buffer.from(combined).equals(key)).toBe(false);
  });

  it("gives the key itself as the single share of a 1-of-1 vault, as Vault does", async () => {
    const key = randomBytes(32);
    expect(Buffer.from((await splitRootKey(key, 1, 1))[0] as Uint8Array).equals(key)).toBe(true);
  });

  it("refuses impossible counts", () => {
    expect(() => checkShareCounts(0, 1)).toThrow(/secret_shares/);
    expect(() => checkShareCounts(256, 2)).toThrow(/secret_shares/);
    expect(() => checkShareCounts(3, 4)).toThrow(/secret_threshold/);
    expect(() => checkShareCounts(3, 1)).toThrow(/at least 2/);
  });
});
