import fc from "fast-check";
import * as openpgp from "openpgp";
import { beforeAll, describe, expect, it } from "vitest";
import { readPublicKey } from "../../src/core/pgp.js";
import {
  anyText,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  isBadInputRefusal,
  mutatedBytes,
  mutationsOf,
  parseOrRefuseAsync,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";

/** Custodians' OpenPGP public keys (init, rekey, seed export): real keys in every form, mutated ones, noise. */

interface RealKey {
  armored: string;
  binary: Uint8Array;
  fingerprint: string;
}

let publicKeys: RealKey[] = [];
let privateKeys: RealKey[] = [];
let signOnlyKey: RealKey;

async function realKey(key: openpgp.Key): Promise<RealKey> {
  return { armored: key.armor(), binary: key.write(), fingerprint: key.getFingerprint() };
}

beforeAll(async () => {
  const userIDs = [{ name: "Custodian", email: "custodian@example.com" }];
  const made = await Promise.all([
    openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs, format: "object" }),
    openpgp.generateKey({ type: "rsa", rsaBits: 2048, userIDs, format: "object" }),
    openpgp.generateKey({ type: "curve25519", userIDs, format: "object", config: { v6Keys: true } }),
  ]);
  publicKeys = await Promise.all(made.map(({ publicKey }) => realKey(publicKey)));
  privateKeys = await Promise.all(made.map(({ privateKey }) => realKey(privateKey)));
  const signOnly = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs,
    subkeys: [],
    format: "object",
  });
  signOnlyKey = await realKey(signOnly.publicKey);
}, 60_000);

/** The forms Vault accepts a key in: armored, base64 of the binary key, base64 of the armored key. */
const FORMS = ["armored", "base64 binary", "base64 armored"] as const;
const written = (key: RealKey, form: (typeof FORMS)[number]) =>
  form === "armored"
    ? key.armored
    : Buffer.from(form === "base64 binary" ? key.binary : key.armored).toString("base64");
const padding = fc.constantFrom("", " ", "\n", "\r\n", "\t \n");

const keyIndex = () => fc.nat({ max: publicKeys.length - 1 });

describe.skipIf(skipOutsideSqlitePass("OpenPGP key fuzzing"))("OpenPGP public keys (fuzzed)", () => {
  it(
    "a real public key in any accepted form reads back as that key",
    async () => {
      await fc.assert(
        fc.asyncProperty(keyIndex(), fc.constantFrom(...FORMS), padding, padding, async (i, form, a, b) => {
          const key = publicKeys[i] as RealKey;
          const read = await readPublicKey(a + written(key, form) + b, "pgp_keys[0]");
          expect(read.getFingerprint()).toBe(key.fingerprint);
        }),
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
          fc.oneof(
            keyIndex().map((i) => privateKeys[i] as RealKey),
            fc.constant(null).map(() => signOnlyKey),
          ),
          fc.constantFrom(...FORMS),
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
      const armoredNoise = fc
        .tuple(
          fc.base64String({ maxLength: 400 }),
          fc.constantFrom("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK", "MESSAGE"),
        )
        .map(([body, kind]) => `-----BEGIN PGP ${kind}-----\n\n${body}\n-----END PGP ${kind}-----\n`);
      const text = fc.oneof(
        anyText(),
        fc.base64String({ maxLength: 400 }),
        armoredNoise,
        armoredNoise.map((armored) => Buffer.from(armored).toString("base64")),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("base64")),
        keyIndex().chain((i) => mutationsOf((publicKeys[i] as RealKey).armored)),
        keyIndex()
          .chain((i) => mutatedBytes((publicKeys[i] as RealKey).binary))
          .map((bytes) => bytes.toString("base64")),
        keyIndex()
          .chain((i) => mutatedBytes((privateKeys[i] as RealKey).binary))
          .map((bytes) => bytes.toString("base64")),
      );
      await fc.assert(
        fc.asyncProperty(text, async (input) => {
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
