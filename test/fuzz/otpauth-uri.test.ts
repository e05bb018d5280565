import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOtpauthUri } from "../../src/core/otpauth-uri.js";
import { ALGORITHMS, MAX_PERIOD_SECONDS, MAX_SEED_BYTES, MIN_SEED_BYTES } from "../../src/core/totp.js";
import { encodeBase32Upper } from "../support/encodings.js";
import {
  anyText,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  mutationsOf,
  parseOrRefuse,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";

/** A key as a user means it, and the otpauth:// URI an enrolment page would show for it. */
interface KeyModel {
  seed: Uint8Array;
  issuer: string;
  accountName: string;
  algorithm: (typeof ALGORITHMS)[number];
  digits: 6 | 8;
  period: number;
}

// Key URI Format: a colon separates issuer and account in the label, so neither contains one;
// the label's parts are trimmed by readers, so the model's are too.
const labelPart = (minLength: number) =>
  fc
    .string({ unit: "binary", minLength, maxLength: 40 })
    .map((text) => text.replace(/:/g, "").trim())
    .filter((text) => text.length >= minLength);

const keyModel: fc.Arbitrary<KeyModel> = fc.record({
  seed: fc.uint8Array({ minLength: MIN_SEED_BYTES, maxLength: MAX_SEED_BYTES }),
  issuer: labelPart(0),
  accountName: labelPart(1),
  algorithm: fc.constantFrom(...ALGORITHMS),
  digits: fc.constantFrom(6 as const, 8 as const),
  period: fc.integer({ min: 1, max: MAX_PERIOD_SECONDS }),
});

/** The URI for `key`, built by hand (not by the library that parses it), parameters in any order and case. */
const uriOf = (key: KeyModel): fc.Arbitrary<string> =>
  fc
    .record({
      order: fc.shuffledSubarray(["secret", "issuer", "algorithm", "digits", "period"], { minLength: 5 }),
      lowerSecret: fc.boolean(),
      lowerAlgorithm: fc.boolean(),
      padding: fc.boolean(),
    })
    .map(({ order, lowerSecret, lowerAlgorithm, padding }) => {
      const base32 = encodeBase32Upper(key.seed);
      const secret = padding ? base32 : base32.replace(/=+$/, "");
      const values: Record<string, string> = {
        secret: lowerSecret ? secret.toLowerCase() : secret,
        issuer: key.issuer,
        algorithm: lowerAlgorithm ? key.algorithm.toLowerCase() : key.algorithm,
        digits: String(key.digits),
        period: String(key.period),
      };
      const query = order
        .filter((name) => name !== "issuer" || key.issuer !== "")
        .map((name) => `${name}=${encodeURIComponent(values[name] as string)}`)
        .join("&");
      const label = key.issuer
        ? `${encodeURIComponent(key.issuer)}:${encodeURIComponent(key.accountName)}`
        : encodeURIComponent(key.accountName);
      return `otpauth://totp/${label}?${query}`;
    });

const validUri = keyModel.chain(uriOf);

describe.skipIf(skipOutsideSqlitePass("otpauth:// URI fuzzing"))("otpauth:// URIs (fuzzed)", () => {
  it(
    "an otpauth URI built from any valid key parses back to that key",
    () => {
      fc.assert(
        fc.property(
          keyModel.chain((key) => fc.tuple(fc.constant(key), uriOf(key))),
          ([key, uri]) => {
            const parsed = parseOtpauthUri(uri);
            expect(Buffer.from(parsed.seed).equals(Buffer.from(key.seed))).toBe(true);
            expect(parsed).toMatchObject({
              issuer: key.issuer,
              accountName: key.accountName,
              algorithm: key.algorithm,
              digits: key.digits,
              period: key.period,
            });
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "any text, and any edit of a valid URI, is parsed into a servable key or refused as bad input",
    () => {
      const text = fc.oneof(
        anyText(),
        anyText().map((rest) => `otpauth://totp/${rest}`),
        anyText().map((rest) => `otpauth://totp/x?secret=${rest}`),
        validUri.chain((uri) => mutationsOf(uri)),
      );
      fc.assert(
        fc.property(text, (uri) => {
          const parsed = parseOrRefuse(() => parseOtpauthUri(uri));
          if (parsed === refused) return;
          expect(parsed.seed.length).toBeGreaterThanOrEqual(MIN_SEED_BYTES);
          expect(parsed.seed.length).toBeLessThanOrEqual(MAX_SEED_BYTES);
          expect(ALGORITHMS).toContain(parsed.algorithm);
          expect([6, 8]).toContain(parsed.digits);
          expect(Number.isInteger(parsed.period) && parsed.period >= 1).toBe(true);
          expect(parsed.period).toBeLessThanOrEqual(MAX_PERIOD_SECONDS);
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
