import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { CustodianRecord, SealConfigStore } from "./store.js";

/** The seal configuration (the one row, id 1) and the custodians of its shares, on either engine. */
export function kyselySealConfig(db: Kysely<Database>): SealConfigStore {
  return {
    async readSealConfig() {
      const row = await db.selectFrom("seal_config").selectAll().where("id", "=", 1).executeTakeFirst();
      if (!row) return null;
      return {
        secretShares: row.secret_shares,
        secretThreshold: row.secret_threshold,
        sealedKeyring: Buffer.from(row.keyring, "base64"),
        pgpFingerprints: JSON.parse(row.pgp_fingerprints),
        clusterId: row.cluster_id,
        createdAt: row.created_at,
        auditPublicKey: row.audit_public_key,
        restorePending: row.restore_pending,
      };
    },

    createSealConfig(config, custodians) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .insertInto("seal_config")
          .values({
            id: 1,
            secret_shares: config.secretShares,
            secret_threshold: config.secretThreshold,
            keyring: config.sealedKeyring.toString("base64"),
            pgp_fingerprints: JSON.stringify(config.pgpFingerprints),
            cluster_id: config.clusterId,
            created_at: config.createdAt,
            audit_public_key: config.auditPublicKey ?? null,
            restore_pending: config.restorePending ?? null,
          })
          .onConflict((oc) => oc.column("id").doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
        await insertCustodians(trx, custodians);
        return true;
      });
    },

    async replaceSealKeyring(previous, next) {
      const result = await db
        .updateTable("seal_config")
        .set({ keyring: next.toString("base64") })
        .where("id", "=", 1)
        .where("keyring", "=", previous.toString("base64"))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    rekeySeal(previousKeyring, next, custodians) {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable("seal_config")
          .set({
            secret_shares: next.secretShares,
            secret_threshold: next.secretThreshold,
            keyring: next.sealedKeyring.toString("base64"),
            pgp_fingerprints: JSON.stringify(next.pgpFingerprints),
          })
          .where("id", "=", 1)
          .where("keyring", "=", previousKeyring.toString("base64"))
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await trx.deleteFrom("custodians").execute();
        await insertCustodians(trx, custodians);
        return true;
      });
    },

    async setAuditPublicKey(pem) {
      await db.updateTable("seal_config").set({ audit_public_key: pem }).where("id", "=", 1).execute();
    },

    async listCustodians() {
      const rows = await db.selectFrom("custodians").selectAll().orderBy("share_index").execute();
      return rows.map((row) => ({
        shareIndex: row.share_index,
        name: row.name,
        pgpFingerprint: row.pgp_fingerprint,
        shareHash: row.share_hash,
        createdAt: row.created_at,
        lastVerified: row.last_verified,
      }));
    },

    async markCustodianVerified(shareIndex, time) {
      await db
        .updateTable("custodians")
        .set({ last_verified: time })
        .where("share_index", "=", shareIndex)
        .execute();
    },
  };
}

async function insertCustodians(db: Kysely<Database>, custodians: CustodianRecord[]): Promise<void> {
  if (custodians.length === 0) return;
  await db
    .insertInto("custodians")
    .values(
      custodians.map((c) => ({
        share_index: c.shareIndex,
        name: c.name,
        pgp_fingerprint: c.pgpFingerprint,
        share_hash: c.shareHash,
        created_at: c.createdAt,
        last_verified: c.lastVerified,
      })),
    )
    .execute();
}
