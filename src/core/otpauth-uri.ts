import { parseUri } from "./encoding.js";
import { badInput } from "./errors.js";
import { checkLabelText, checkParameters, seedFromBase32, type TotpDefinition } from "./totp.js";

/** How messages name the URI: as people know it (the UI's field, the CLI's --uri), not by the API's field name. */
const URI = "the otpauth URI";

export interface ImportedKey extends TotpDefinition {
  seed: Buffer;
}

/**
 * Reads an otpauth://totp/ URI as Vault does (builtin/logical/totp/path_keys.go): the label is
 * `issuer:account` or `account`, either part may be empty (`Vault:`, or no label at all), and an
 * `issuer` parameter wins over the label's; `issuer` (the request's) is used when neither names
 * one. No message ever quotes the secret.
 */
export function parseOtpauthUri(text: string, issuerGiven = ""): ImportedKey {
  const url = parseUri(text, "otpauth://", URI);
  if (url.protocol !== "otpauth:") throw badInput(`${URI} must start with otpauth://`);
  if (url.host === "hotp")
    throw badInput(`${URI} is an HOTP (counter-based) key: breakglass serves time-based (TOTP) codes only`);
  if (url.host !== "totp") throw badInput(`${URI} must be an otpauth://totp/ URI`);
  const query = url.searchParams;
  const secret = query.get("secret");
  if (!secret) throw badInput(`${URI} has no secret parameter`);
  const params = checkParameters({
    algorithm: query.get("algorithm") || "SHA1",
    digits: wholeNumberParameter(query.get("digits"), "digits", 6),
    period: wholeNumberParameter(query.get("period"), "period", 30),
  });
  const label = decodedLabel(url.pathname.replace(/^\//, ""));
  const colon = label.indexOf(":");
  // Key URI Format: spaces may follow the colon; they are not part of the account name.
  const accountName = colon === -1 ? label : label.slice(colon + 1).replace(/^ +/, "");
  const issuer = query.get("issuer") || (colon === -1 ? issuerGiven : label.slice(0, colon));
  checkLabelText(`${issuer}${accountName}`, URI);
  return { seed: seedFromBase32(secret, `${URI}'s secret`), issuer, accountName, ...params };
}

function decodedLabel(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw badInput(`${URI} has a label that is not valid percent-encoding`);
  }
}

/** A number parameter as Vault reads it (strconv.Atoi): digits only; absent or empty means the default. */
function wholeNumberParameter(value: string | null, name: string, fallback: number): number {
  if (!value) return fallback;
  if (!/^[0-9]{1,9}$/.test(value)) throw badInput(`the ${name} in ${URI} is not a whole number`);
  return Number(value);
}
