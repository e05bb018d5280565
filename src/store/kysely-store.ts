import type { Kysely, Selectable, Transaction } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import type { AuditEntryTable, Database, TotpKeyTable } from "./schema.js";
import type { AuditFilter, AuditHead, SealConfig, Store, TokenRecord, TotpKeyRecord } from "./store.js";

/** What differs between engines; everything else is the same Kysely code. */
export interface EngineSpecifics {
  engine: Store["engine"];
  location: string;
  /** Serialises audit appends across connections/nodes for the rest of the transaction. */
  lockAuditHead(trx: Transaction<Database>): Promise<void>;
  /**
   * Optional: writes linked entries off the event loop, refusing them if the head moved, and
   * resolves once they are durable. When given, appends are linked here and handed over.
   */
  writeAuditEntries?(entries: AuditEntry[], expectedHead: AuditHead | null): Promise<void>;
  /** Told the number of entries each durable audit transaction (one fsync) committed. */
  onAuditTransaction(entries: number): void;
  close(): Promise<void>;
}

export class KyselyStore implements Store {
  readonly engine: Store["engine"];
  readonly location: string;
  /** The head of the audit chain as linked so far by this process; undefined: read it from the store. */
  private knownAuditHead: AuditHead | null | undefined = undefined;
  private auditLinkQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly specifics: EngineSpecifics,
  ) {
    this.engine = specifics.engine;
    this.location = specifics.location;
  }

  async readSealConfig(): Promise<SealConfig | null> {
    const row = await this.db.selectFrom("seal_config").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!row) return null;
    return {
      secretShares: Number(row.secret_shares),
      secretThreshold: Number(row.secret_threshold),
      sealedKeyring: Buffer.from(row.keyring, "base64"),
      pgpFingerprints: JSON.parse(row.pgp_fingerprints),
      clusterId: row.cluster_id,
      createdAt: row.created_at,
    };
  }

  async createSealConfig(config: SealConfig): Promise<boolean> {
    const result = await this.db
      .insertInto("seal_config")
      .values({
        id: 1,
        secret_shares: config.secretShares,
        secret_threshold: config.secretThreshold,
        keyring: config.sealedKeyring.toString("base64"),
        pgp_fingerprints: JSON.stringify(config.pgpFingerprints),
        cluster_id: config.clusterId,
        created_at: config.createdAt,
      })
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async insertTotpKey(key: TotpKeyRecord): Promise<boolean> {
    const result = await this.db
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
        generated: key.generated ? 1 : 0,
        created_at: key.createdAt,
        created_by: key.createdBy,
        last_accepted_step: key.lastAcceptedStep,
      })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findTotpKey(name: string): Promise<TotpKeyRecord | null> {
    const row = await this.db.selectFrom("totp_keys").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? totpKeyFromRow(row) : null;
  }

  async listTotpKeyNames(): Promise<string[]> {
    const rows = await this.db.selectFrom("totp_keys").select("name").orderBy("name").execute();
    return rows.map((r) => r.name);
  }

  async deleteTotpKey(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("totp_keys").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async acceptTotpStep(name: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable("totp_keys")
      .set({ last_accepted_step: step })
      .where("name", "=", name)
      .where((eb) => eb.or([eb("last_accepted_step", "is", null), eb("last_accepted_step", "<", step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values({
        token_hmac: token.tokenHmac,
        accessor: token.accessor,
        display_name: token.displayName,
        policies: JSON.stringify(token.policies),
        meta: JSON.stringify(token.meta),
        parent_accessor: token.parentAccessor,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
      })
      .execute();
  }

  async findToken(tokenHmac: string): Promise<TokenRecord | null> {
    const row = await this.db
      .selectFrom("tokens")
      .selectAll()
      .where("token_hmac", "=", tokenHmac)
      .executeTakeFirst();
    if (!row) return null;
    return {
      tokenHmac: row.token_hmac,
      accessor: row.accessor,
      displayName: row.display_name,
      policies: JSON.parse(row.policies),
      meta: JSON.parse(row.meta),
      parentAccessor: row.parent_accessor,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async deleteToken(accessor: string): Promise<boolean> {
    const result = await this.db.deleteFrom("tokens").where("accessor", "=", accessor).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async appendAuditEntries(link: (head: AuditHead | null) => AuditEntry[]): Promise<AuditEntry[]> {
    const { writeAuditEntries } = this.specifics;
    if (!writeAuditEntries) {
      const entries = await this.db.transaction().execute(async (trx) => {
        await this.specifics.lockAuditHead(trx);
        const linked = link(await readAuditHead(trx));
        if (linked.length > 0)
          await trx.insertInto("audit_entries").values(linked.map(auditRowFromEntry)).execute();
        return linked;
      });
      this.specifics.onAuditTransaction(entries.length);
      return entries;
    }
    // Pipelined: batches are linked one after another on the head this process knows (read from
    // the store only at first and after a failure) and handed to the writer in that order, so the
    // next batch can be linked while the previous one is still being made durable.
    const linking = this.auditLinkQueue.then(async () => {
      const head = this.knownAuditHead !== undefined ? this.knownAuditHead : await readAuditHead(this.db);
      const entries = link(head);
      const last = entries.at(-1);
      this.knownAuditHead = last ? { seq: last.seq, hash: last.hash } : head;
      return { entries, written: writeAuditEntries(entries, head) };
    });
    this.auditLinkQueue = linking.then(
      () => undefined,
      () => undefined,
    );
    const { entries, written } = await linking;
    try {
      await written;
    } catch (error) {
      this.knownAuditHead = undefined; // every batch linked after this one fails too; start again from the store
      throw error;
    }
    return entries;
  }

  async listAuditEntries(filter: AuditFilter): Promise<AuditEntry[]> {
    let query = this.db.selectFrom("audit_entries").selectAll().orderBy("seq", "asc");
    if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
    if (filter.since) query = query.where("time", ">=", filter.since);
    if (filter.until) query = query.where("time", "<", filter.until);
    if (filter.actor) query = query.where("actor", "=", filter.actor);
    if (filter.action) query = query.where("action", "=", filter.action);
    if (filter.target) query = query.where("target", "=", filter.target);
    if (filter.limit) query = query.limit(filter.limit);
    const rows = await query.execute();
    return rows.map(auditEntryFromRow);
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.specifics.close();
  }
}

async function readAuditHead(db: Kysely<Database>): Promise<AuditHead | null> {
  const head = await db
    .selectFrom("audit_entries")
    .select(["seq", "hash"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return head ? { seq: Number(head.seq), hash: head.hash } : null;
}

function totpKeyFromRow(row: Selectable<TotpKeyTable>): TotpKeyRecord {
  return {
    name: row.name,
    issuer: row.issuer,
    accountName: row.account_name,
    algorithm: row.algorithm,
    digits: Number(row.digits),
    period: Number(row.period),
    skew: Number(row.skew),
    seedCiphertext: Buffer.from(row.seed_ciphertext, "base64"),
    keyVersion: Number(row.key_version),
    generated: Number(row.generated) === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastAcceptedStep: row.last_accepted_step === null ? null : Number(row.last_accepted_step),
  };
}

function auditRowFromEntry(entry: AuditEntry) {
  return {
    seq: entry.seq,
    time: entry.time,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    reason: entry.reason,
    request_id: entry.request_id,
    remote_addr: entry.remote_addr,
    user_agent: entry.user_agent,
    approval_ids: JSON.stringify(entry.approval_ids),
    details: JSON.stringify(entry.details),
    prev_hash: entry.prev_hash,
    hash: entry.hash,
  };
}

function auditEntryFromRow(row: Selectable<AuditEntryTable>): AuditEntry {
  return {
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditEntry["outcome"],
    reason: row.reason,
    request_id: row.request_id,
    remote_addr: row.remote_addr,
    user_agent: row.user_agent,
    approval_ids: parseTamperableJson(row.approval_ids),
    details: parseTamperableJson(row.details),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** A hand-edited row may hold anything; keep the raw text so verification reports the entry instead of crashing. */
function parseTamperableJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as unknown as T;
  }
}
