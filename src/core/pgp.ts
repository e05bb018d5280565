import * as openpgp from "openpgp";
import { badInput } from "./errors.js";

/**
 * Reads a custodian's public key as Vault accepts it: base64 of a binary key, or an armored key
 * (also base64 of an armored key, which some tools produce). Private keys are refused: the server
 * must only ever see public keys.
 */
export async function readPublicKey(text: string, what: string): Promise<openpgp.PublicKey> {
  const trimmed = text.trim();
  let key: openpgp.Key;
  try {
    if (trimmed.startsWith("-----BEGIN PGP")) {
      key = await openpgp.readKey({ armoredKey: trimmed });
    } else {
      const bytes = Buffer.from(trimmed, "base64");
      if (bytes.length === 0) throw new Error("empty");
      const asText = bytes.toString("latin1");
      key = asText.startsWith("-----BEGIN PGP")
        ? await openpgp.readKey({ armoredKey: asText })
        : await openpgp.readKey({ binaryKey: bytes });
    }
  } catch {
    throw badInput(
      `${what} is not an OpenPGP public key (expected base64 of a binary key, or an armored key)`,
    );
  }
  if (key.isPrivate())
    throw badInput(
      `${what} is a private key: send the public key only, and treat that private key as exposed`,
    );
  try {
    await key.getEncryptionKey();
  } catch {
    throw badInput(
      `${what} (${key.getFingerprint()}) has no valid encryption subkey (expired, revoked or sign-only)`,
    );
  }
  return key as openpgp.PublicKey;
}

/** An OpenPGP message to `key`, decryptable with `gpg -d` or a hardware token. */
export async function encryptToKey(key: openpgp.PublicKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: plaintext });
  return openpgp.encrypt({ message, encryptionKeys: key, format: "binary" });
}

/** Base64 of an OpenPGP message to `key` holding `text` (a token); the UTF-8 copy made here is wiped. */
export async function encryptedText(key: openpgp.PublicKey, text: string): Promise<string> {
  const plaintext = Buffer.from(text, "utf8");
  try {
    return Buffer.from(await encryptToKey(key, plaintext)).toString("base64");
  } finally {
    plaintext.fill(0);
  }
}

export function fingerprintOf(key: openpgp.PublicKey): string {
  return key.getFingerprint();
}

/**
 * The key's first user ID ("Name <mail>"), or null when it has none or that one holds a NUL: it
 * names no one, and PostgreSQL cannot store it (the custodian is then "custodian N").
 */
export function userIdOf(key: openpgp.PublicKey): string | null {
  const userId = key.getUserIDs()[0];
  return userId === undefined || userId.includes("\u0000") ? null : userId;
}

/** An armored OpenPGP message to `key` holding `text` (`gpg -d` prints the text back). */
export async function armoredMessageTo(key: openpgp.PublicKey, text: string): Promise<string> {
  const message = await openpgp.createMessage({ text });
  return openpgp.encrypt({ message, encryptionKeys: key, format: "armored" });
}
