import fc from "fast-check";
import * as openpgp from "openpgp";
import { anyText, mutatedBytes, mutationsOf } from "./fuzz.js";

/** Custodians' OpenPGP keys for the fuzzers: real keys made by OpenPGP.js, in every form, mutated, and noise. */

export interface RealKey {
  armored: string;
  binary: Uint8Array;
  fingerprint: string;
}

export interface RealKeys {
  /** Curve25519 (legacy), RSA 2048 and a v6 Curve25519 key, each with an encryption subkey. */
  publicKeys: RealKey[];
  privateKeys: RealKey[];
  /** A key that can only sign: no share can be encrypted to it. */
  signOnly: RealKey;
}

const realKey = (key: openpgp.Key): RealKey => ({
  armored: key.armor(),
  binary: key.write(),
  fingerprint: key.getFingerprint(),
});

export async function makeRealKeys(): Promise<RealKeys> {
  const userIDs = [{ name: "Custodian", email: "custodian@example.com" }];
  const made = await Promise.all([
    openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs, format: "object" }),
    openpgp.generateKey({ type: "rsa", rsaBits: 2048, userIDs, format: "object" }),
    openpgp.generateKey({ type: "curve25519", userIDs, format: "object", config: { v6Keys: true } }),
  ]);
  const signOnly = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs,
    subkeys: [],
    format: "object",
  });
  return {
    publicKeys: made.map(({ publicKey }) => realKey(publicKey)),
    privateKeys: made.map(({ privateKey }) => realKey(privateKey)),
    signOnly: realKey(signOnly.publicKey),
  };
}

/** The forms Vault accepts a key in: armored, base64 of the binary key, base64 of the armored key. */
export const KEY_FORMS = ["armored", "base64 binary", "base64 armored"] as const;

export const written = (key: RealKey, form: (typeof KEY_FORMS)[number]): string =>
  form === "armored"
    ? key.armored
    : Buffer.from(form === "base64 binary" ? key.binary : key.armored).toString("base64");

/** Text that is no usable key, mostly: noise, armored noise, real keys with bytes or characters changed. */
export function keyLikeText({ publicKeys, privateKeys }: RealKeys): fc.Arbitrary<string> {
  const armoredNoise = fc
    .tuple(
      fc.base64String({ maxLength: 400 }),
      fc.constantFrom("PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK", "MESSAGE"),
    )
    .map(([body, kind]) => `-----BEGIN PGP ${kind}-----\n\n${body}\n-----END PGP ${kind}-----\n`);
  const publicKey = fc.constantFrom(...publicKeys);
  return fc.oneof(
    anyText(),
    fc.base64String({ maxLength: 400 }),
    armoredNoise,
    armoredNoise.map((armored) => Buffer.from(armored).toString("base64")),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("base64")),
    publicKey.chain((key) => mutationsOf(key.armored)),
    publicKey.chain((key) => mutatedBytes(key.binary)).map((bytes) => bytes.toString("base64")),
    fc
      .constantFrom(...privateKeys)
      .chain((key) => mutatedBytes(key.binary))
      .map((bytes) => bytes.toString("base64")),
  );
}
