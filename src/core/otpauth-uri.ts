import * as OTPAuth from "otpauth";
import { parseUri } from "./encoding.js";
import { badInput } from "./errors.js";
import {
  checkLabelText,
  checkParameters,
  checkSeedLength,
  seedFromBase32,
  type TotpDefinition,
} from "./totp.js";

export interface ImportedKey extends TotpDefinition {
  seed: Buffer;
}

/**
 * Reads an otpauth://totp/ URI. Our own checks come first so that every refusal names what is
 * wrong; the library then does the parsing proper. No message ever quotes the secret.
 */
export function parseOtpauthUri(text: string): ImportedKey {
  const url = parseUri(text, "otpauth://");
  if (url.protocol !== "otpauth:") throw badInput("url must start with otpauth://");
  if (url.host === "hotp")
    throw badInput("url is an HOTP (counter-based) key: breakglass serves time-based (TOTP) codes only");
  if (url.host !== "totp") throw badInput("url must be an otpauth://totp/ URI");
  const secret = url.searchParams.get("secret");
  if (!secret) throw badInput("url has no secret parameter");
  const seed = seedFromBase32(secret, "the secret in url");
  const algorithm = url.searchParams.get("algorithm") ?? "SHA1";
  const digits = Number(url.searchParams.get("digits") ?? 6);
  const period = Number(url.searchParams.get("period") ?? 30);
  checkParameters({ algorithm, digits, period });

  let parsed: OTPAuth.HOTP | OTPAuth.TOTP;
  try {
    parsed = OTPAuth.URI.parse(text.trim());
  } catch {
    throw badInput("url is not a valid otpauth:// URI");
  }
  if (!(parsed instanceof OTPAuth.TOTP)) throw badInput("url must be an otpauth://totp/ URI");
  const parsedSeed = Buffer.from(parsed.secret.bytes);
  checkSeedLength(parsedSeed, "the secret in url");
  seed.fill(0);
  const params = checkParameters({
    algorithm: parsed.algorithm,
    digits: parsed.digits,
    period: parsed.period,
  });
  checkLabelText(`${parsed.issuer}${parsed.label}`, "url");
  return { seed: parsedSeed, issuer: parsed.issuer, accountName: parsed.label, ...params };
}
