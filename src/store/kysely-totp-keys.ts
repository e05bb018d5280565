import type { Kysely, Selectable } from "kysely";
import { type Database, flag, type TotpKeyTable } from "./schema.js";
import type { TotpKeyRecord, TotpKeyStore } from "./store.js";

/** The TOTP engine's keys, on either engine. */
export function kyselyTotpKeys(db: Kysely<Database>): TotpKeyStore {
  return {
    async insertTotpKey(key) {
      const result = await db
        .insertInto("totp_keys")
        .values({
          name: key.name,
          issuer: key.issuer,
          account_name: key.accountName,
          algorithm: key.algorithm,
          digits: key.digits,
          period: key.period,
          skew: key.skew,
          seed_ciphertext: key.seedCiphertext.toString("base64"),
          key_version: key.keyVersion,
          generated: flag(key.generated),
          created_at: key.createdAt,
          created_by: key.createdBy,
          last_accepted_step: key.lastAcceptedStep,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async findTotpKey(name) {
      const row = await db.selectFrom("totp_keys").selectAll().where("name", "=", name).executeTakeFirst();
      return row ? totpKeyFromRow(row) : null;
    },

    async listTotpKeyNames() {
      const rows = await db.selectFrom("totp_keys").select("name").orderBy("name").execute();
      return rows.map((r) => r.name);
    },

    async deleteTotpKey(name) {
      const result = await db.deleteFrom("totp_keys").where("name", "=", name).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async acceptTotpStep(name, step) {
      const result = await db
        .updateTable("totp_keys")
        .set({ last_accepted_step: step })
        .where("name", "=", name)
        .where((eb) => eb.or([eb("last_accepted_step", "is", null), eb("last_accepted_step", "<", step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

function totpKeyFromRow(row: Selectable<TotpKeyTable>): TotpKeyRecord {
  return {
    name: row.name,
    issuer: row.issuer,
    accountName: row.account_name,
    algorithm: row.algorithm,
    digits: row.digits,
    period: row.period,
    skew: row.skew,
    seedCiphertext: Buffer.from(row.seed_ciphertext, "base64"),
    keyVersion: row.key_version,
    generated: row.generated === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastAcceptedStep: row.last_accepted_step,
  };
}
