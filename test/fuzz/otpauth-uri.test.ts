import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseOtpauthUri } from "../../src/core/otpauth-uri.js";
import { textProblem } from "../../src/core/text.js";
import { ALGORITHMS, MAX_PERIOD_SECONDS, MAX_SEED_BYTES, MIN_SEED_BYTES } from "../../src/core/totp.js";
import {
  anyText,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  mutationsOf,
  parseOrRefuse,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";
import { keyModel, uriOf, validUri } from "../support/fuzz-totp.js";

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
    "any text, and any edit of a valid URI, is parsed into a key that can be served and stored, or refused as bad input",
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
          expect(textProblem(parsed.issuer + parsed.accountName)).toBeNull();
        }),
        // A NUL in the label was taken (PostgreSQL then refused to store it: 500).
        fuzzParameters([["otpauth://totp/a%00:b?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=a%00"]]),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
