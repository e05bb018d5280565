import * as OTPAuth from "otpauth";

/** Every form a seed or a secret could be written in, to search outputs, logs and stored bytes for it. */

export function encodeBase32Upper(bytes: Uint8Array): string {
  return new OTPAuth.Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

/** The hex of a base32 seed (an enrolment URI's `secret`), for oathtool. */
export function hexOfBase32(text: string): string {
  return Buffer.from(OTPAuth.Secret.fromBase32(text).buffer).toString("hex");
}

/** Raw bytes, hex and base32 in both cases, base64 and base64url (padding left off, so a prefix still matches). */
export function seedForms(seed: Uint8Array): { name: string; bytes: Buffer }[] {
  const buffer = Buffer.from(seed);
  const base32 = encodeBase32Upper(seed).replace(/=+$/, "");
  const texts: [string, string][] = [
    ["BASE32", base32],
    ["base32", base32.toLowerCase()],
    ["hex", buffer.toString("hex")],
    ["HEX", buffer.toString("hex").toUpperCase()],
    ["base64", buffer.toString("base64").replace(/=+$/, "")],
    ["base64url", buffer.toString("base64url")],
  ];
  return [
    { name: "raw bytes", bytes: buffer },
    ...texts.map(([name, text]) => ({ name, bytes: Buffer.from(text) })),
  ];
}

/** True when `haystack` holds the seed raw or in any of its text forms. */
export function containsSeed(haystack: Buffer | string, seed: Uint8Array): boolean {
  const bytes = Buffer.from(haystack);
  return seedForms(seed).some((form) => bytes.includes(form.bytes));
}

/**
 * Every form a text secret (a token, a password, a one-time pad) could be written in: as it is,
 * URL-encoded, JSON-escaped, and its UTF-8 bytes in hex, base64 and base64url.
 */
export function textForms(text: string): { name: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(text, "utf8");
  const texts: [string, string][] = [
    ["text", text],
    ["URL-encoded", encodeURIComponent(text)],
    ["JSON-escaped", JSON.stringify(text).slice(1, -1)],
    ["hex", utf8.toString("hex")],
    ["base64", utf8.toString("base64").replace(/=+$/, "")],
    ["base64url", utf8.toString("base64url")],
  ];
  return texts.map(([name, form]) => ({ name, bytes: Buffer.from(form) }));
}

/** A secret to look for, by name, in all its forms. */
export interface Secret {
  name: string;
  forms: { name: string; bytes: Buffer }[];
}

export const binarySecret = (name: string, bytes: Uint8Array): Secret => ({ name, forms: seedForms(bytes) });
export const textSecret = (name: string, text: string): Secret => ({ name, forms: textForms(text) });

/** Where (and how) any of the secrets shows up in the given places; empty when none does. */
export function findLeaks(
  secrets: Secret[],
  places: { where: string; content: Buffer | string }[],
): string[] {
  const leaks: string[] = [];
  for (const secret of secrets)
    for (const { name, bytes } of secret.forms)
      for (const { where, content } of places)
        if (Buffer.from(content).includes(bytes)) leaks.push(`${secret.name} as ${name} in ${where}`);
  return leaks;
}

/** Where (and how) any of the seeds shows up in the given places; empty when none does. */
export function findSeedLeaks(
  seeds: Uint8Array[],
  places: { where: string; content: Buffer | string }[],
): string[] {
  return findLeaks(
    seeds.map((seed, index) => binarySecret(`seed ${index}`, seed)),
    places,
  );
}
