import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.js";
import type { SealedRow, SealedRowKind, SecretStore } from "./store.js";

/**
 * Where a kind of sealed secret lives: its table, id column and ciphertext column, named as in
 * the schema; and, where rows record whose name their associated data carries, that column
 * (holding the table's own name once sealed as its own row).
 */
type SealedColumns = {
  [T in keyof Database]: {
    table: T;
    id: keyof Database[T] & string;
    ciphertext: keyof Database[T] & string;
    sealedAs?: keyof Database[T] & string;
  };
}[keyof Database];

const LOCATIONS: Record<SealedRowKind, SealedColumns> = {
  totp_seed: { table: "totp_keys", id: "name", ciphertext: "seed_ciphertext" },
  second_factor_seed: {
    table: "second_factors",
    id: "username",
    ciphertext: "seed_ciphertext",
    sealedAs: "sealed_as",
  },
  audit_sink_secret: { table: "audit_sinks", id: "name", ciphertext: "secret_ciphertext" },
  notify_webhook_secret: { table: "notify_webhooks", id: "name", ciphertext: "secret_ciphertext" },
  notify_smtp_password: { table: "notify_smtp", id: "id", ciphertext: "password_ciphertext" },
  oidc_client_secret: { table: "oidc_config", id: "id", ciphertext: "client_secret_ciphertext" },
  oidc_refresh_token: { table: "oidc_logins", id: "accessor", ciphertext: "refresh_ciphertext" },
};

/**
 * Every sealed secret, whatever its table, on either engine. The tables share the shape that
 * matters here (an id, a base64 ciphertext, `key_version`), so one query serves them all.
 */
export class KyselySecretStore implements SecretStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listSealedBefore(
    kind: SealedRowKind,
    version: number,
    after: string | null,
    limit: number,
  ): Promise<SealedRow[]> {
    const { table, id, ciphertext, sealedAs } = LOCATIONS[kind];
    const { rows } = await sql<{
      id: string;
      ciphertext: string;
      key_version: number;
      sealed_as: string | null;
    }>`
      select cast(${sql.ref(id)} as text) as id, ${sql.ref(ciphertext)} as ciphertext, key_version,
        ${sealedAs ? sql.ref(sealedAs) : sql`null`} as sealed_as
      from ${sql.table(table)}
      where ${sql.ref(ciphertext)} is not null
        and (key_version < ${version} ${sealedAs ? sql`or ${sql.ref(sealedAs)} <> ${table}` : sql``})
      ${after === null ? sql`` : sql`and ${sql.ref(id)} > ${after}`}
      order by ${sql.ref(id)}
      limit ${limit}`.execute(this.db);
    return rows.map((row) => ({
      id: row.id,
      ciphertext: Buffer.from(row.ciphertext, "base64"),
      keyVersion: row.key_version,
      ...(row.sealed_as === null ? {} : { sealedAs: row.sealed_as }),
    }));
  }

  async replaceSealed(
    kind: SealedRowKind,
    previous: SealedRow,
    next: { ciphertext: Buffer; keyVersion: number },
  ): Promise<boolean> {
    const { table, id, ciphertext, sealedAs } = LOCATIONS[kind];
    const result = await sql`
      update ${sql.table(table)}
      set ${sql.ref(ciphertext)} = ${next.ciphertext.toString("base64")}, key_version = ${next.keyVersion}
        ${sealedAs ? sql`, ${sql.ref(sealedAs)} = ${table}` : sql``}
      where ${sql.ref(id)} = ${previous.id}
        and ${sql.ref(ciphertext)} = ${previous.ciphertext.toString("base64")}
        and key_version = ${previous.keyVersion}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  async countByKeyVersion(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const { table, ciphertext } of Object.values(LOCATIONS)) {
      const { rows } = await sql<{ key_version: number; sealed: number }>`
        select key_version, count(*) as sealed from ${sql.table(table)}
        where ${sql.ref(ciphertext)} is not null
        group by key_version`.execute(this.db);
      for (const row of rows) counts.set(row.key_version, (counts.get(row.key_version) ?? 0) + row.sealed);
    }
    return counts;
  }
}
