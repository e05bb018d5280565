import * as OTPAuth from "otpauth";

/** Every text form a seed could take, to search outputs and files for it. */
export function encodeBase32Upper(bytes: Uint8Array): string {
  return new OTPAuth.Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

export function seedForms(seed: Uint8Array): string[] {
  const base32 = encodeBase32Upper(seed).replace(/=+$/, "");
  const buffer = Buffer.from(seed);
  return [
    base32,
    base32.toLowerCase(),
    buffer.toString("hex"),
    buffer.toString("hex").toUpperCase(),
    buffer.toString("base64").replace(/=+$/, ""),
    buffer.toString("base64url"),
  ];
}

/** True when `haystack` holds the seed raw or in any of its text forms. */
export function containsSeed(haystack: Buffer | string, seed: Uint8Array): boolean {
  const bytes = typeof haystack === "string" ? Buffer.from(haystack, "utf8") : haystack;
  if (bytes.includes(Buffer.from(seed))) return true;
  return seedForms(seed).some((form) => bytes.includes(Buffer.from(form, "utf8")));
}
