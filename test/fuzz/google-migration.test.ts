import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseMigrationUri } from "../../src/core/google-migration.js";
import { textProblem } from "../../src/core/text.js";
import { ALGORITHMS, MAX_SEED_BYTES, MIN_SEED_BYTES } from "../../src/core/totp.js";
import {
  anyText,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  mutatedBytes,
  parseOrRefuse,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";
import { servableAccount } from "../support/fuzz-totp.js";
import { type ExportedAccount, migrationUri } from "../support/google-export.js";

/** Google Authenticator exports: random payloads, and the app's own format with mutated fields. */

/** An account with any values in its fields: any seed length, any enum number, any text. */
const anyAccount: fc.Arbitrary<ExportedAccount> = fc.record({
  secret: fc.uint8Array({ maxLength: 200 }),
  name: anyText(60),
  issuer: anyText(60),
  algorithm: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.integer()),
  digits: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.integer()),
  type: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.integer()),
});

const dataOf = (uri: string) => Buffer.from(new URL(uri).searchParams.get("data") as string, "base64");
const withData = (payload: Uint8Array) =>
  `otpauth-migration://offline?data=${encodeURIComponent(Buffer.from(payload).toString("base64"))}`;

describe.skipIf(skipOutsideSqlitePass("Google Authenticator export fuzzing"))(
  "Google Authenticator exports (fuzzed)",
  () => {
    it(
      "an export of TOTP accounts gives back every account, seed and parameter",
      () => {
        fc.assert(
          fc.property(fc.array(servableAccount, { minLength: 1, maxLength: 6 }), (accounts) => {
            const result = parseMigrationUri(migrationUri(accounts.map((a) => a.exported)));
            expect(result.skipped).toEqual([]);
            expect(result.keys.map(({ seed, ...key }) => key)).toEqual(accounts.map((a) => a.expected));
            expect(result.keys.map((key) => Buffer.from(key.seed).toString("hex"))).toEqual(
              accounts.map((a) => Buffer.from(a.exported.secret).toString("hex")),
            );
          }),
          fuzzParameters(),
        );
      },
      FUZZ_TEST_TIMEOUT_MS,
    );

    it(
      "any payload — random bytes, odd field values, or a real export with bytes flipped, cut or inserted — gives keys that can be served and stored, or a bad-input refusal",
      () => {
        const realExport = fc
          .array(servableAccount, { minLength: 1, maxLength: 3 })
          .map((accounts) => dataOf(migrationUri(accounts.map((a) => a.exported))));
        const payload = fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.array(anyAccount, { maxLength: 4 }).map((accounts) => dataOf(migrationUri(accounts))),
          realExport.chain(mutatedBytes),
          realExport.chain(mutatedBytes).chain(mutatedBytes),
        );
        fc.assert(
          fc.property(payload, (bytes) => {
            const result = parseOrRefuse(() => parseMigrationUri(withData(bytes)));
            if (result === refused) return;
            expect(result.keys.length + result.skipped.length).toBeGreaterThan(0);
            for (const key of result.keys) {
              expect(key.seed.length).toBeGreaterThanOrEqual(MIN_SEED_BYTES);
              expect(key.seed.length).toBeLessThanOrEqual(MAX_SEED_BYTES);
              expect(ALGORITHMS).toContain(key.algorithm);
              expect([6, 8]).toContain(key.digits);
              expect(textProblem(key.issuer + key.accountName)).toBeNull();
            }
          }),
          // A NUL in an account's names was taken (PostgreSQL then refused to store it: 500).
          fuzzParameters<[Uint8Array]>([
            [dataOf(migrationUri([{ secret: new Uint8Array(20), issuer: "a\u0000", name: "a\u0000:b" }]))],
          ]),
        );
      },
      FUZZ_TEST_TIMEOUT_MS,
    );

    it(
      "any text given as an otpauth-migration:// URI is read or refused as bad input",
      () => {
        const text = fc.oneof(
          anyText(),
          anyText().map((rest) => `otpauth-migration://offline?${rest}`),
          anyText().map((rest) => `otpauth-migration://offline?data=${rest}`),
          anyText().map((rest) => `otpauth-migration://${rest}`),
        );
        fc.assert(
          fc.property(text, (uri) => {
            parseOrRefuse(() => parseMigrationUri(uri));
          }),
          fuzzParameters(),
        );
      },
      FUZZ_TEST_TIMEOUT_MS,
    );
  },
);
