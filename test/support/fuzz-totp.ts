import fc from "fast-check";
import { textProblem } from "../../src/core/text.js";
import { ALGORITHMS, MAX_PERIOD_SECONDS, MAX_SEED_BYTES, MIN_SEED_BYTES } from "../../src/core/totp.js";
import { encodeBase32Upper } from "./encodings.js";
import type { ExportedAccount } from "./google-export.js";

/** TOTP keys for the fuzzers: valid keys from a model, as otpauth:// URIs, pasted base32, Google exports. */

/** A key as a user means it, and the otpauth:// URI an enrolment page would show for it. */
export interface KeyModel {
  seed: Uint8Array;
  issuer: string;
  accountName: string;
  algorithm: (typeof ALGORITHMS)[number];
  digits: 6 | 8;
  period: number;
}

/** `text` without what free text may not hold (controls, line breaks, bidi controls, lone surrogates: core/text.ts). */
const asFreeText = (text: string) =>
  Array.from(text)
    .filter((character) => textProblem(character) === null)
    .join("");

// Key URI Format: a colon separates issuer and account in the label, so neither contains one;
// the label's parts are trimmed by readers, so the model's are too. Names are free text.
const labelPart = (minLength: number) =>
  fc
    .string({ unit: "binary", minLength, maxLength: 40 })
    .map((text) => asFreeText(text.replaceAll(":", "")).trim())
    .filter((text) => text.length >= minLength);

export const keyModel: fc.Arbitrary<KeyModel> = fc.record({
  seed: fc.uint8Array({ minLength: MIN_SEED_BYTES, maxLength: MAX_SEED_BYTES }),
  issuer: labelPart(0),
  accountName: labelPart(1),
  algorithm: fc.constantFrom(...ALGORITHMS),
  digits: fc.constantFrom(6 as const, 8 as const),
  period: fc.integer({ min: 1, max: MAX_PERIOD_SECONDS }),
});

/** The URI for `key`, built by hand (not by the library that parses it), parameters in any order and case. */
export const uriOf = (key: KeyModel): fc.Arbitrary<string> =>
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

export const validUri = keyModel.chain(uriOf);

/** `text` as a user might paste it: any case, spaces and dashes between groups, padding or not. */
export const pastedBase32 = (text: string): fc.Arbitrary<string> =>
  fc
    .record({
      cases: fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }),
      separators: fc.array(fc.constantFrom("", "", "", " ", "-", "\t"), {
        minLength: text.length,
        maxLength: text.length,
      }),
      padding: fc.boolean(),
    })
    .map(({ cases, separators, padding }) => {
      const body = padding ? text : text.replace(/=+$/, "");
      return [...body]
        .map((char, i) => (cases[i] ? char.toLowerCase() : char) + (separators[i] ?? ""))
        .join("");
    });

const ALGORITHM_OF_ENUM = { 1: "SHA1", 2: "SHA256", 3: "SHA512" } as const;
const DIGITS_OF_ENUM = { 1: 6, 2: 8 } as const;

/** An issuer or account name: any free text, or the plain ASCII most have (long ones make long key names). */
const exportedText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }).map(asFreeText),
  fc.stringMatching(/^[A-Za-z0-9 .@_-]{0,60}$/),
);

/** A TOTP account Google Authenticator could export, and what breakglass must read from it. */
export const servableAccount = fc
  .record({
    secret: fc.uint8Array({ minLength: MIN_SEED_BYTES, maxLength: MAX_SEED_BYTES }),
    issuer: exportedText,
    account: exportedText,
    algorithm: fc.constantFrom(1, 2, 3),
    digits: fc.constantFrom(1, 2),
  })
  .map(({ secret, issuer, account, algorithm, digits }) => ({
    exported: {
      secret,
      issuer,
      name: issuer ? `${issuer}:${account}` : account,
      algorithm,
      digits,
      type: 2,
    } satisfies ExportedAccount,
    expected: {
      issuer,
      accountName: account,
      algorithm: ALGORITHM_OF_ENUM[algorithm as 1 | 2 | 3],
      digits: DIGITS_OF_ENUM[digits as 1 | 2],
      period: 30,
    },
  }));
