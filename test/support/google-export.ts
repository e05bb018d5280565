import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** Builds a Google Authenticator export the way the app writes it (MigrationPayload protobuf). */
export interface ExportedAccount {
  secret: Uint8Array;
  name: string;
  issuer: string;
  /** 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5 */
  algorithm?: number;
  /** 1 six, 2 eight */
  digits?: number;
  /** 1 HOTP, 2 TOTP */
  type?: number;
}

export function migrationUri(accounts: ExportedAccount[]): string {
  const payload = new BinaryWriter();
  for (const account of accounts) {
    const parameters = new BinaryWriter()
      .tag(1, 2)
      .bytes(account.secret)
      .tag(2, 2)
      .string(account.name)
      .tag(3, 2)
      .string(account.issuer)
      .tag(4, 0)
      .int32(account.algorithm ?? 1)
      .tag(5, 0)
      .int32(account.digits ?? 1)
      .tag(6, 0)
      .int32(account.type ?? 2)
      .finish();
    payload.tag(1, 2).bytes(parameters);
  }
  payload.tag(2, 0).int32(1).tag(3, 0).int32(1).tag(4, 0).int32(0);
  return `otpauth-migration://offline?data=${encodeURIComponent(Buffer.from(payload.finish()).toString("base64"))}`;
}
