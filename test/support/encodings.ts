import * as OTPAuth from "otpauth";

/** Every form a seed could be written in, to search outputs, logs and stored bytes for it. */

export function encodeBase32Upper(bytes: Uint8Array): string {
  return new OTPAuth.Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
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

/** Where (and how) any of the seeds shows up in the given places; empty when none does. */
export function findSeedLeaks(
  seeds: Uint8Array[],
  places: { where: string; content: Buffer | string }[],
): string[] {
  const leaks: string[] = [];
  for (const [index, seed] of seeds.entries())
    for (const { name, bytes } of seedForms(seed))
      for (const { where, content } of places)
        if (Buffer.from(content).includes(bytes)) leaks.push(`seed ${index} as ${name} in ${where}`);
  return leaks;
}
