import type { Kysely } from "kysely";
import { type Database, flag } from "./schema.js";
import type { AuditSinkStore } from "./store.js";

/** Where audit entries are copied to, on either engine. */
export function kyselyAuditSinks(db: Kysely<Database>): AuditSinkStore {
  return {
    async listAuditSinks() {
      const rows = await db.selectFrom("audit_sinks").selectAll().orderBy("name").execute();
      return rows.map((row) => ({
        name: row.name,
        type: row.type,
        description: row.description,
        options: JSON.parse(row.options),
        required: row.required === 1,
        secretCiphertext:
          row.secret_ciphertext === null ? null : Buffer.from(row.secret_ciphertext, "base64"),
        keyVersion: row.key_version,
        updatedAt: row.updated_at,
      }));
    },

    async putAuditSink(sink) {
      const row = {
        name: sink.name,
        type: sink.type,
        description: sink.description,
        options: JSON.stringify(sink.options),
        required: flag(sink.required),
        secret_ciphertext: sink.secretCiphertext?.toString("base64") ?? null,
        key_version: sink.keyVersion,
        updated_at: sink.updatedAt,
      };
      await db
        .insertInto("audit_sinks")
        .values(row)
        .onConflict((oc) => oc.column("name").doUpdateSet(row))
        .execute();
    },

    async deleteAuditSink(name) {
      const result = await db.deleteFrom("audit_sinks").where("name", "=", name).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
