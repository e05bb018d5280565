import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { readPublicKey } from "../../src/core/pgp.js";
import {
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  isBadInputRefusal,
  parseOrRefuseAsync,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";
import { KEY_FORMS, keyLikeText, makeRealKeys, type RealKeys, written } from "../support/fuzz-pgp.js";

/** Custodians' OpenPGP public keys (init, rekey, seed export): real keys in every form, mutated ones, noise. */

let keys: RealKeys;

beforeAll(async () => {
  keys = await makeRealKeys();
}, 60_000);

const padding = fc.constantFrom("", " ", "\n", "\r\n", "\t \n");

describe.skipIf(skipOutsideSqlitePass("OpenPGP key fuzzing"))("OpenPGP public keys (fuzzed)", () => {
  it(
    "a real public key in any accepted form reads back as that key",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...keys.publicKeys),
          fc.constantFrom(...KEY_FORMS),
          padding,
          padding,
          async (key, form, before, after) => {
            const read = await readPublicKey(before + written(key, form) + after, "pgp_keys[0]");
            expect(read.getFingerprint()).toBe(key.fingerprint);
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "a private key or a key without an encryption subkey, in any form, is refused as bad input",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...keys.privateKeys, keys.signOnly),
          fc.constantFrom(...KEY_FORMS),
          async (key, form) => {
            await expect(readPublicKey(written(key, form), "pgp_keys[0]")).rejects.toSatisfy(
              isBadInputRefusal,
            );
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "noise, armored noise, and real keys with bytes or characters changed are read as public keys or refused as bad input",
    async () => {
      await fc.assert(
        fc.asyncProperty(keyLikeText(keys), async (input) => {
          const key = await parseOrRefuseAsync(() => readPublicKey(input, "pgp_keys[0]"));
          if (key === refused) return;
          expect(key.isPrivate()).toBe(false);
          await expect(key.getEncryptionKey()).resolves.toBeDefined();
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
