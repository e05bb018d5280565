import { badInput } from "./errors.js";

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;

/**
 * Strict base64, padding optional: whole groups of 4, then 2 or 3 characters, padded or not.
 * Checked by length, not by a regex repeating a group per 4 characters: that one overflowed the
 * regex engine's stack on a 12 MB image.
 */
function isBase64(text: string): boolean {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const body = text.slice(0, text.length - padding);
  if (!BASE64_ALPHABET.test(body)) return false;
  const tail = body.length % 4;
  return padding === 0 ? tail !== 1 : tail === 4 - padding;
}

/** Decodes strict base64 (padding optional); rejects anything Buffer.from would silently skip. */
export function decodeBase64(text: string, what: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length === 0 || !isBase64(trimmed)) throw badInput(`${what} is not valid base64`);
  return Buffer.from(trimmed, "base64");
}

/** Vault accepts shares as hex or base64; hex wins when both readings are possible, as in Vault. */
export function decodeHexOrBase64(text: string, what: string): Buffer {
  const trimmed = text.trim();
  if (HEX.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (trimmed.length > 0 && isBase64(trimmed)) return Buffer.from(trimmed, "base64");
  throw badInput(`${what} is neither hex nor base64`);
}

/** Parses a URI the user gave; the message names what was expected, never the text itself. */
export function parseUri(text: string, expected: string, what = "url"): URL {
  try {
    return new URL(text.trim());
  } catch {
    throw badInput(`${what} is not a valid ${expected} URI`);
  }
}

/** The bytes as a Buffer without copying them: encoding a secret leaves no unwiped copy behind. */
export function viewOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
