import { randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { badInput } from "./errors.js";
import { textProblem } from "./text.js";

/** Time-based one-time codes (RFC 6238), computed by the `otpauth` library; this module only shapes them. */

export const ALGORITHMS = ["SHA1", "SHA256", "SHA512"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export const DIGITS = [6, 8] as const;
export const MIN_SEED_BYTES = 10; // 80 bits: the shortest seeds real services still hand out
export const MAX_SEED_BYTES = 128;
export const MAX_PERIOD_SECONDS = 3600;

export interface TotpParameters {
  algorithm: Algorithm;
  digits: number;
  period: number;
}

export interface TotpDefinition extends TotpParameters {
  issuer: string;
  accountName: string;
}

export interface ServedCode {
  code: string;
  step: number;
  validFrom: number;
  expiresAt: number;
}

export function stepAt(period: number, unixSeconds: number): number {
  return Math.floor(unixSeconds / period);
}

/** The code for one step, with the window in which it is the current code. */
export function codeForStep(seed: Uint8Array, params: TotpParameters, step: number): ServedCode {
  const code = OTPAuth.HOTP.generate({
    secret: new OTPAuth.Secret({ buffer: copyToArrayBuffer(seed) }),
    algorithm: params.algorithm,
    digits: params.digits,
    counter: step,
  });
  return { code, step, validFrom: step * params.period, expiresAt: (step + 1) * params.period };
}

/**
 * The step whose code equals `code`, searched within ±skew steps of `unixSeconds`, or null.
 * The caller decides whether that step was already used.
 */
export function matchingStep(
  seed: Uint8Array,
  params: TotpParameters,
  code: string,
  unixSeconds: number,
  skew: number,
): number | null {
  const delta = OTPAuth.TOTP.validate({
    token: code,
    secret: new OTPAuth.Secret({ buffer: copyToArrayBuffer(seed) }),
    algorithm: params.algorithm,
    digits: params.digits,
    period: params.period,
    timestamp: unixSeconds * 1000,
    window: skew,
  });
  return delta === null ? null : stepAt(params.period, unixSeconds) + delta;
}

export function generateSeed(bytes = 20): Buffer {
  return randomBytes(bytes);
}

/** The otpauth:// URI an authenticator app enrols from; it contains the seed, so it leaves the server once at most. */
export function enrolmentUri(seed: Uint8Array, definition: TotpDefinition): string {
  return new OTPAuth.TOTP({
    issuer: definition.issuer,
    label: definition.accountName,
    secret: new OTPAuth.Secret({ buffer: copyToArrayBuffer(seed) }),
    algorithm: definition.algorithm,
    digits: definition.digits,
    period: definition.period,
  }).toString();
}

const BASE32_TEXT = /^[A-Z2-7]+=*$/;

/** Reads a base32 seed as users paste it: any case, spaces, dashes and padding tolerated. Never echoes it. */
export function seedFromBase32(text: string, what = "key"): Buffer {
  const cleaned = text.replace(/[\s-]/g, "").toUpperCase();
  if (cleaned.length === 0) throw badInput(`${what} is empty`);
  if (!BASE32_TEXT.test(cleaned)) throw badInput(`${what} is not valid base32 (letters A-Z and digits 2-7)`);
  const seed = Buffer.from(OTPAuth.Secret.fromBase32(cleaned.replace(/=+$/, "")).bytes);
  checkSeedLength(seed, what);
  return seed;
}

export function checkSeedLength(seed: Uint8Array, what = "key"): void {
  if (seed.length < MIN_SEED_BYTES)
    throw badInput(
      `${what} is too short: at least ${MIN_SEED_BYTES} bytes (16 base32 characters) are needed`,
    );
  if (seed.length > MAX_SEED_BYTES) throw badInput(`${what} is too long: at most ${MAX_SEED_BYTES} bytes`);
}

/** An issuer and account name as decoded from a URI or an export: free text like any other (core/text.ts). */
export function checkLabelText(text: string, where: string): void {
  const problem = textProblem(text);
  if (problem !== null) throw badInput(`the issuer or account name in ${where} ${problem}`);
}

export function checkParameters(params: {
  algorithm: string;
  digits: number;
  period: number;
}): TotpParameters {
  const algorithm = params.algorithm.toUpperCase();
  if (!(ALGORITHMS as readonly string[]).includes(algorithm))
    throw badInput(`algorithm must be one of ${ALGORITHMS.join(", ")}`);
  if (!(DIGITS as readonly number[]).includes(params.digits)) throw badInput("digits must be 6 or 8");
  if (!Number.isInteger(params.period) || params.period < 1 || params.period > MAX_PERIOD_SECONDS)
    throw badInput(`period must be a whole number of seconds from 1 to ${MAX_PERIOD_SECONDS}`);
  return { algorithm: algorithm as Algorithm, digits: params.digits, period: params.period };
}

/** otpauth wants an ArrayBuffer it may keep; give it a copy so callers can wipe their own buffer. */
function copyToArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return copy;
}
