import { randomInt } from "node:crypto";
import { badInput } from "./errors.js";

/**
 * Vault's one-time pad for generated root tokens: a base62 pad as long as the token; the token
 * leaves as base64 (unpadded) of its bytes XOR the pad's, and `-decode` reverses it.
 */

const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function makePad(length: number): string {
  return Array.from({ length }, () => BASE62[randomInt(BASE62.length)]).join("");
}

export function xorWithPad(text: string, pad: string): string {
  return xorBytes(Buffer.from(text, "utf8"), Buffer.from(pad, "utf8")).toString("base64").replace(/=+$/, "");
}

export function decodeWithPad(encoded: string, pad: string): string {
  return xorBytes(Buffer.from(encoded.trim(), "base64"), Buffer.from(pad.trim(), "utf8")).toString("utf8");
}

function xorBytes(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length || a.length === 0)
    throw badInput("the encoded token and the one-time pad differ in length: check both were copied whole");
  return Buffer.from(a.map((byte, i) => byte ^ (b[i] as number)));
}
