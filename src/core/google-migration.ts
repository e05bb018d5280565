import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { parseUri } from "./encoding.js";
import { badInput } from "./errors.js";
import type { ImportedKey } from "./otpauth-uri.js";
import { checkLabelText, checkSeedLength } from "./totp.js";

/**
 * Google Authenticator's "Transfer accounts" export: otpauth-migration://offline?data=BASE64,
 * where data is a MigrationPayload protobuf (field numbers as published by the app's export format).
 */

export interface MigrationResult {
  keys: ImportedKey[];
  /** Accounts that cannot be served (HOTP, MD5); named so the user knows what was left behind. */
  skipped: { label: string; why: string }[];
  batch: { index: number; size: number };
}

const ALGORITHM_BY_ENUM: Record<number, ImportedKey["algorithm"] | undefined> = {
  0: "SHA1",
  1: "SHA1",
  2: "SHA256",
  3: "SHA512",
};
const DIGITS_BY_ENUM: Record<number, number | undefined> = { 0: 6, 1: 6, 2: 8 };
const OTP_TYPE_HOTP = 1;

export function parseMigrationUri(text: string): MigrationResult {
  const url = parseUri(text, "otpauth-migration://");
  if (url.protocol !== "otpauth-migration:" || url.host !== "offline")
    throw badInput("url must start with otpauth-migration://offline");
  const data = url.searchParams.get("data");
  if (!data) throw badInput("url has no data parameter");
  const payload = Buffer.from(data.replace(/ /g, "+"), "base64");
  try {
    return readPayload(payload);
  } catch (error) {
    if (error instanceof Error && error.name === "BreakglassError") throw error;
    throw badInput("url data is not a Google Authenticator export (it does not decode)");
  }
}

function readPayload(payload: Uint8Array): MigrationResult {
  const reader = new BinaryReader(payload);
  const result: MigrationResult = { keys: [], skipped: [], batch: { index: 0, size: 1 } };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) readAccount(reader.bytes(), result);
    else if (field === 3 && wireType === WireType.Varint) result.batch.size = reader.int32();
    else if (field === 4 && wireType === WireType.Varint) result.batch.index = reader.int32();
    else reader.skip(wireType);
  }
  if (result.keys.length === 0 && result.skipped.length === 0)
    throw badInput("the export contains no accounts");
  return result;
}

function readAccount(bytes: Uint8Array, result: MigrationResult): void {
  const reader = new BinaryReader(bytes);
  let seed = Buffer.alloc(0);
  let name = "";
  let issuer = "";
  let algorithmEnum = 0;
  let digitsEnum = 0;
  let typeEnum = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) seed = Buffer.from(reader.bytes());
    else if (field === 2 && wireType === WireType.LengthDelimited) name = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) issuer = reader.string();
    else if (field === 4 && wireType === WireType.Varint) algorithmEnum = reader.int32();
    else if (field === 5 && wireType === WireType.Varint) digitsEnum = reader.int32();
    else if (field === 6 && wireType === WireType.Varint) typeEnum = reader.int32();
    else reader.skip(wireType);
  }
  // The app stores "Issuer:account" as the name when it has an issuer; keep the account part.
  const accountName = issuer && name.startsWith(`${issuer}:`) ? name.slice(issuer.length + 1) : name;
  const label = issuer ? `${issuer}:${accountName}` : accountName;
  const algorithm = ALGORITHM_BY_ENUM[algorithmEnum];
  const digits = DIGITS_BY_ENUM[digitsEnum];
  const unsupported =
    typeEnum === OTP_TYPE_HOTP
      ? "HOTP (counter-based) keys are not supported"
      : !algorithm
        ? "its algorithm (MD5 or unknown) is not supported"
        : !digits
          ? "its digit count is not supported"
          : null;
  if (unsupported || !algorithm || !digits) {
    seed.fill(0);
    result.skipped.push({ label, why: unsupported ?? "not supported" });
    return;
  }
  checkLabelText(`${issuer}${name}`, "the export");
  checkSeedLength(seed, `the secret of ${label || "an account"}`);
  result.keys.push({ seed, issuer, accountName, algorithm, digits, period: 30 });
}
