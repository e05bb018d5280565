export interface SecretStore {
  /**
   * Up to `limit` rows of `kind` sealed under a version older than `version`, or sealed as another
   * row's (`sealedAs`), by id, after id `after`.
   */
  listSealedBefore(
    kind: SealedRowKind,
    version: number,
    after: string | null,
    limit: number,
  ): Promise<SealedRow[]>;
  /**
   * Replaces one row's ciphertext and key version (sealed as its own row) only if both are still
   * `previous`'s; false otherwise (the row was deleted or rewritten meanwhile, and that change wins).
   */
  replaceSealed(
    kind: SealedRowKind,
    previous: SealedRow,
    next: { ciphertext: Buffer; keyVersion: number },
  ): Promise<boolean>;
  /** How many sealed secrets there are under each data key version, all kinds together. */
  countByKeyVersion(): Promise<Map<number, number>>;
}

/** The kinds of row that hold a secret sealed under a data key. */
export type SealedRowKind =
  | "totp_seed"
  | "second_factor_seed"
  | "audit_sink_secret"
  | "notify_webhook_secret"
  | "notify_smtp_password"
  | "oidc_client_secret"
  | "oidc_refresh_token";

/** One sealed secret: its row's id (a name, or "1" for the one mail server), ciphertext and key version. */
export interface SealedRow {
  id: string;
  ciphertext: Buffer;
  keyVersion: number;
  /** For a kind that records it (second factors): whose name the associated data carries. */
  sealedAs?: string;
}
