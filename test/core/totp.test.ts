import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, codeForStep, matchingStep, seedFromBase32, stepAt } from "../../src/core/totp.js";
import { oathtoolCode } from "../support/tools.js";

// RFC 6238 appendix B: the published test vectors (8 digits, 30-second steps).
const RFC_SEEDS = {
  SHA1: Buffer.from("12345678901234567890", "ascii"),
  SHA256: Buffer.from("12345678901234567890123456789012", "ascii"),
  SHA512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234", "ascii"),
} as const;
const RFC_VECTORS: [number, Record<keyof typeof RFC_SEEDS, string>][] = [
  [59, { SHA1: "94287082", SHA256: "46119246", SHA512: "90693936" }],
  [1111111109, { SHA1: "07081804", SHA256: "68084774", SHA512: "25091201" }],
  [1111111111, { SHA1: "14050471", SHA256: "67062674", SHA512: "99943326" }],
  [1234567890, { SHA1: "89005924", SHA256: "91819424", SHA512: "93441116" }],
  [2000000000, { SHA1: "69279037", SHA256: "90698825", SHA512: "38618901" }],
  [20000000000, { SHA1: "65353130", SHA256: "77737706", SHA512: "47863826" }],
];

describe("TOTP codes", () => {
  for (const [time, expected] of RFC_VECTORS) {
    for (const algorithm of ALGORITHMS) {
      it(`match RFC 6238 appendix B for ${algorithm} at T=${time}`, () => {
        const params = { algorithm, digits: 8, period: 30 };
        const served = codeForStep(RFC_SEEDS[algorithm], params, stepAt(30, time));
        expect(served.code).toBe(expected[algorithm]);
      });
    }
  }

  it("equal oathtool's for random seeds in every algorithm × digits × period, at the served step", () => {
    const now = Math.floor(Date.now() / 1000);
    let compared = 0;
    for (const algorithm of ALGORITHMS) {
      for (const digits of [6, 8]) {
        for (const period of [30, 60]) {
          for (let i = 0; i < 3; i++) {
            const seed = randomBytes(algorithm === "SHA1" ? 20 : algorithm === "SHA256" ? 32 : 64);
            const unixSeconds = now + i * 7919;
            const served = codeForStep(seed, { algorithm, digits, period }, stepAt(period, unixSeconds));
            expect(served.code).toBe(
              oathtoolCode(seed.toString("hex"), {
                algorithm,
                digits,
                period,
                unixSeconds: served.validFrom,
              }),
            );
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(36);
  });

  it("say when the code stops being valid: expires_at is the end of the served step", () => {
    const served = codeForStep(
      RFC_SEEDS.SHA1,
      { algorithm: "SHA1", digits: 6, period: 30 },
      stepAt(30, 1111111109),
    );
    expect(served.validFrom).toBe(1111111080);
    expect(served.expiresAt).toBe(1111111110);
  });

  it("validate within the skew window and report the matched step", () => {
    const params = { algorithm: "SHA1" as const, digits: 8, period: 30 };
    const previous = codeForStep(RFC_SEEDS.SHA1, params, stepAt(30, 1111111111) - 1).code;
    expect(matchingStep(RFC_SEEDS.SHA1, params, previous, 1111111111, 1)).toBe(stepAt(30, 1111111111) - 1);
    expect(matchingStep(RFC_SEEDS.SHA1, params, previous, 1111111111, 0)).toBeNull();
  });
});

describe("base32 seeds", () => {
  it("are read in any case, with spaces and padding", () => {
    expect(seedFromBase32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").toString("ascii")).toBe(
      "12345678901234567890",
    );
    expect(seedFromBase32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====").toString("ascii")).toBe(
      "12345678901234567890",
    );
  });

  it("are refused with a message that does not quote them", () => {
    for (const bad of ["GEZDGNBVGY3TQOJ1GEZD", "", "GEZDGNBV", "hello world!!"]) {
      expect(() => seedFromBase32(bad)).toThrowError(/key/);
      try {
        seedFromBase32(bad);
      } catch (error) {
        if (bad.length > 0) expect((error as Error).message).not.toContain(bad);
      }
    }
  });
});
