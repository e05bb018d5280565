/** What init (operator.ts) and the rekey ceremonies share: PGP key files read, shares described. */
import { readInputFile } from "../local-files.js";

/** Armored keys go as they are; binary keys as base64, the other form Vault accepts. */
export function readKeyFile(file: string): string {
  const bytes = readInputFile(file, "PGP key file");
  const text = bytes.toString("utf8");
  return text.includes("-----BEGIN PGP") ? text : bytes.toString("base64");
}

/** Shares as handed out (init, rekey): hex, or base64 of the message encrypted to each PGP key. */
export function describeShares(
  keys: string[],
  keysBase64: string[],
  encryptedTo: string[],
  custodians?: string[],
) {
  const encrypted = encryptedTo.length > 0;
  const lines = keys.map((hex, i) => {
    const holder = custodians?.[i] ? ` for ${custodians[i]}` : "";
    return encrypted
      ? `Unseal Key ${i + 1}${holder} (encrypted to ${encryptedTo[i]}): ${keysBase64[i]}`
      : `Unseal Key ${i + 1}${holder}: ${hex}`;
  });
  if (encrypted)
    lines.push(
      "",
      "A custodian decrypts their key with: echo KEY | base64 -d | gpg -d | breakglass operator unseal -",
    );
  return lines;
}
