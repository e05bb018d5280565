import { randomInt } from "node:crypto";
import { badInput } from "./errors.js";

/**
 * Vault's one-time pad for generated root tokens: a base62 pad as long as the token; the token
 * leaves as base64 (unpadded) of its bytes XOR the pad's, and `-decode` reverses it.
 */

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The pad as the bytes of its base62 text, so that it can be overwritten once the attempt ends. */
export function makePad(length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => BASE62.charCodeAt(randomInt(BASE62.length))));
}

export function xorWithPad(text: string, pad: Uint8Array): string {
  const token = Buffer.from(text, "utf8");
  try {
    return xorBytes(token, pad).toString("base64").replace(/=+$/, "");
  } finally {
    token.fill(0);
  }
}

export function decodeWithPad(encoded: string, pad: string): string {
  return xorBytes(Buffer.from(encoded.trim(), "base64"), Buffer.from(pad.trim(), "utf8")).toString("utf8");
}

function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length || a.length === 0)
    throw badInput("the encoded token and the one-time pad differ in length: check both were copied whole");
  return Buffer.from(a.map((byte, i) => byte ^ (b[i] as number)));
}
