import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64, decodeHexOrBase64, parseUri } from "../../src/core/encoding.js";
import { KEY_BYTES } from "../../src/core/keyring.js";
import { expectedShareLength, MAX_SHARES } from "../../src/core/shamir.js";
import { MAX_SEED_BYTES, MIN_SEED_BYTES, seedFromBase32 } from "../../src/core/totp.js";
import { decodeShare } from "../../src/services/custody/share-collector.js";
import { encodeBase32Upper } from "../support/encodings.js";
import {
  anyText,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  parseOrRefuse,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";
import { pastedBase32 } from "../support/fuzz-totp.js";

/** Base32 seeds, base64 and hex (images, shares), and shares: what users paste, fuzzed. */

const seedBytes = fc.uint8Array({ minLength: MIN_SEED_BYTES, maxLength: MAX_SEED_BYTES });
const threshold = fc.integer({ min: 1, max: MAX_SHARES });
const whitespace = fc.constantFrom("", " ", "\n", "\t", "\r\n", "  ");

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Bytes and their text as hex (either case) or base64; base64 that reads as hex is left out, since
 * Vault's rule reads such text as hex.
 */
const bytesAsHexOrBase64 = (minLength: number, maxLength: number): fc.Arbitrary<[Uint8Array, string]> =>
  fc
    .tuple(fc.uint8Array({ minLength, maxLength }), fc.constantFrom("hex", "HEX", "base64"))
    .filter(([bytes, form]) => form !== "base64" || !HEX.test(Buffer.from(bytes).toString("base64")))
    .map(([bytes, form]) => {
      const text = Buffer.from(bytes).toString(form === "base64" ? "base64" : "hex");
      return [bytes, form === "HEX" ? text.toUpperCase() : text];
    });

describe.skipIf(skipOutsideSqlitePass("encoding fuzzing"))("encodings (fuzzed)", () => {
  it(
    "a base32 seed, pasted in any case with spaces, dashes or padding, decodes to its bytes",
    () => {
      fc.assert(
        fc.property(
          seedBytes.chain((seed) => fc.tuple(fc.constant(seed), pastedBase32(encodeBase32Upper(seed)))),
          ([seed, text]) => {
            expect(seedFromBase32(text).equals(Buffer.from(seed))).toBe(true);
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "any text given as a base32 seed is a seed of a servable length or refused as bad input",
    () => {
      const text = fc.oneof(
        anyText(),
        fc.stringMatching(/^[A-Za-z2-7 =-]{0,300}$/),
        fc.uint8Array({ maxLength: 200 }).map((bytes) => encodeBase32Upper(bytes)),
      );
      fc.assert(
        fc.property(text, (input) => {
          const seed = parseOrRefuse(() => seedFromBase32(input));
          if (seed === refused) return;
          expect(seed.length).toBeGreaterThanOrEqual(MIN_SEED_BYTES);
          expect(seed.length).toBeLessThanOrEqual(MAX_SEED_BYTES);
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "bytes written as base64 (padded or not, with surrounding whitespace) decode to those bytes",
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.boolean(),
          whitespace,
          whitespace,
          (bytes, padded, before, after) => {
            const base64 = Buffer.from(bytes).toString("base64");
            const text = before + (padded ? base64 : base64.replace(/=+$/, "")) + after;
            expect(decodeBase64(text, "image").equals(Buffer.from(bytes))).toBe(true);
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "bytes written as hex in any case, or as base64 that does not read as hex, decode to those bytes",
    () => {
      fc.assert(
        fc.property(bytesAsHexOrBase64(1, 300), ([bytes, text]) => {
          expect(decodeHexOrBase64(text, "key").equals(Buffer.from(bytes))).toBe(true);
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  // Found by the HTTP fuzzers: 12 MB of base64 (a 9 MiB screenshot) overflowed the regex engine's
  // stack, a RangeError and a 500. Plain tests, as a property would try to shrink such texts.
  it("base64 as long as the API takes (a 9 MiB image) decodes, and longer text is refused cleanly", () => {
    const image = Buffer.alloc(9 * 1024 * 1024, 0xc7);
    expect(decodeBase64(image.toString("base64"), "qr_image").equals(image)).toBe(true);
    expect(decodeHexOrBase64(image.toString("base64"), "key").equals(image)).toBe(true);
    expect(parseOrRefuse(() => decodeBase64(`${"A".repeat(16 * 1024 * 1024)}===`, "qr_image"))).toBe(refused);
  });

  it(
    "any text given as base64, hex or a URI is decoded or refused as bad input",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(anyText(), fc.base64String({ maxLength: 200 }), fc.stringMatching(/^[0-9a-fA-F]{0,100}$/)),
          (text) => {
            parseOrRefuse(() => decodeBase64(text, "image"));
            parseOrRefuse(() => decodeHexOrBase64(text, "key"));
            parseOrRefuse(() => parseUri(text, "otpauth://"));
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});

describe.skipIf(skipOutsideSqlitePass("share fuzzing"))("unseal shares (fuzzed)", () => {
  it(
    "a share of this vault's length, as hex or base64, decodes to its bytes; any other length to null",
    () => {
      const share = threshold.chain((t) => {
        const length = expectedShareLength(t, KEY_BYTES);
        return fc.tuple(
          fc.constant(length),
          fc.oneof(bytesAsHexOrBase64(length, length), bytesAsHexOrBase64(1, 80)),
          fc.constant(t),
        );
      });
      fc.assert(
        fc.property(share, ([length, [bytes, text], t]) => {
          const decoded = decodeShare(text, t);
          if (bytes.length === length) expect(decoded).toEqual(Buffer.from(bytes));
          else expect(decoded).toBeNull();
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "any text given as a share is a share of this vault's length, null, or refused as bad input",
    () => {
      fc.assert(
        fc.property(
          fc.oneof(anyText(), fc.base64String({ maxLength: 100 }), fc.stringMatching(/^[0-9a-f]{60,70}$/)),
          threshold,
          (text, t) => {
            const share = parseOrRefuse(() => decodeShare(text, t));
            if (share === refused || share === null) return;
            expect(share.length).toBe(expectedShareLength(t, KEY_BYTES));
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
