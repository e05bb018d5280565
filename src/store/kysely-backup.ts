import { CompiledQuery, type Kysely, type RawBuilder, sql } from "kysely";
import type { BackupRecord, BackupRow } from "../core/backup-file.js";
import { badInput, conflict } from "../core/errors.js";
import { auditRowFromEntry, readAuditHead } from "./audit-appenders.js";
import type { EngineSpecifics } from "./engine.js";
import { auditEntryFromRow } from "./kysely-audit.js";
import type { Database } from "./schema.js";
import type { BackupSnapshot, BackupStore, StagedRestore } from "./store.js";

/**
 * What a backup leaves out: delivery state (services/delivery) belongs to this cluster's
 * destinations, not to the data; a restore starts every destination again at the restored head.
 */
export const DELIVERY_TABLES = [
  "notification_outbox",
  "delivery_cursors",
  "leases",
  "dead_letters",
  "cluster_notices",
] as const;

/** Sign-ins and passkey ceremonies in flight: they end within minutes and belong to whoever started them. */
const TRANSIENT_TABLES = ["oidc_states", "passkey_challenges"] as const;

/**
 * The tables a backup holds, each with its primary key (pages are read in its order, so a
 * million audit entries stream in constant memory). seal_config travels in the header;
 * restore_chunks is the staging area. A table added to the schema must be added here.
 */
export const BACKUP_TABLES: Record<
  Exclude<
    keyof Database,
    "seal_config" | "restore_chunks" | (typeof DELIVERY_TABLES)[number] | (typeof TRANSIENT_TABLES)[number]
  >,
  { key: string }
> = {
  custodians: { key: "share_index" },
  totp_keys: { key: "name" },
  tokens: { key: "token_hmac" },
  users: { key: "username" },
  second_factors: { key: "username" },
  passkeys: { key: "id" },
  groups: { key: "name" },
  login_failures: { key: "subject" },
  access_rules: { key: "key_name" },
  approvals: { key: "id" },
  audit_sinks: { key: "name" },
  notify_webhooks: { key: "name" },
  notify_smtp: { key: "id" },
  devices: { key: "id" },
  oidc_config: { key: "id" },
  oidc_roles: { key: "name" },
  oidc_identities: { key: "subject_key" },
  oidc_logins: { key: "accessor" },
  audit_entries: { key: "seq" },
};
type BackupTable = keyof typeof BACKUP_TABLES;
const TABLE_NAMES = Object.keys(BACKUP_TABLES) as BackupTable[];
const isBackupTable = (name: string): name is BackupTable => Object.hasOwn(BACKUP_TABLES, name);

const PAGE_ROWS = 1000;
/** SQLite binds at most 32766 parameters per statement (PostgreSQL 65535): batches are sized by columns. */
const MAX_PARAMETERS = 32766;
const MAX_ROWS_PER_INSERT = 1000;
const COLUMN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Kysely's own bookkeeping of applied migrations. */
const MIGRATION_TABLE = "kysely_migration";

export class KyselyBackupStore implements BackupStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly specifics: EngineSpecifics,
  ) {}

  async schemaVersion(): Promise<string[]> {
    const result = await sql<{
      name: string;
    }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(this.db);
    return result.rows.map((row) => row.name);
  }

  async openSnapshot(): Promise<BackupSnapshot> {
    const { transaction, release } = this.specifics.snapshotSource();
    let closed = false;
    let trx: Awaited<ReturnType<typeof transaction.execute>>;
    try {
      trx = await transaction.execute();
    } catch (error) {
      await release();
      throw error;
    }
    const close = async () => {
      if (closed) return;
      closed = true;
      try {
        await trx.commit().execute();
      } finally {
        await release();
      }
    };
    try {
      const counts: Record<string, number> = {};
      for (const table of TABLE_NAMES) {
        const result = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(trx);
        counts[table] = result.rows[0]?.n ?? 0;
      }
      const seal = await trx
        .selectFrom("seal_config")
        .select("keyring")
        .where("id", "=", 1)
        .executeTakeFirst();
      const sealedKeyring = seal ? Buffer.from(seal.keyring, "base64") : null;
      return { counts, sealedKeyring, pages: () => pagesOf(trx), close };
    } catch (error) {
      await close().catch(() => {});
      throw error;
    }
  }

  async stageChunk(index: number, payload: Buffer): Promise<void> {
    await this.db
      .insertInto("restore_chunks")
      .values({ seq: index, data: payload.toString("base64") })
      .execute();
  }

  async clearStagedChunks(): Promise<void> {
    await this.db.deleteFrom("restore_chunks").execute();
  }

  async applyStagedRestore(restore: StagedRestore): Promise<Record<string, number> | null> {
    const counts = await this.db.transaction().execute(async (trx) => {
      // A write first: on SQLite it takes the write lock for the whole transaction at once.
      const taken = await trx
        .updateTable("seal_config")
        .set({ restore_pending: null })
        .where("id", "=", 1)
        .where("restore_pending", "=", restore.pending)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) return null;
      // Another node appending meanwhile would link after the chain being replaced: hold it off.
      await this.specifics.lockAuditChain?.(trx);
      // The unseal that applies the restore was recorded on the empty chain: keep it, after the restored one.
      const displaced = (await trx.selectFrom("audit_entries").selectAll().orderBy("seq").execute()).map(
        auditEntryFromRow,
      );
      await trx.deleteFrom("audit_entries").execute();
      const inserter = new RowInserter(trx, this.specifics);
      for (let index = 0; index < restore.chunks; index++) {
        const staged = await trx
          .selectFrom("restore_chunks")
          .select("data")
          .where("seq", "=", index)
          .executeTakeFirst();
        if (!staged) throw badInput(`the staged backup lacks chunk ${index}: restore the file again`);
        for (const record of restore.open(index, Buffer.from(staged.data, "base64")))
          await inserter.add(record);
      }
      await inserter.flushAll();
      checkCounts(inserter.counts, restore.counts);
      await trx.deleteFrom("restore_chunks").execute();
      // Every destination starts again at the restored head (its worker loses its lease and looks again).
      for (const table of [...DELIVERY_TABLES, ...TRANSIENT_TABLES]) await trx.deleteFrom(table).execute();
      const relinked = restore.relink(await readAuditHead(trx), displaced);
      if (relinked.length > 0)
        await trx.insertInto("audit_entries").values(relinked.map(auditRowFromEntry)).execute();
      return inserter.counts;
    });
    if (counts !== null) this.specifics.auditAppender.forgetHead();
    return counts;
  }
}

async function* pagesOf(trx: Kysely<Database>): AsyncGenerator<{ table: string; rows: BackupRow[] }> {
  for (const table of TABLE_NAMES) {
    const { key } = BACKUP_TABLES[table];
    let after: string | number | null = null;
    for (;;) {
      const from: RawBuilder<unknown> = after === null ? sql`` : sql`where ${sql.ref(key)} > ${after}`;
      const { rows }: { rows: BackupRow[] } =
        await sql<BackupRow>`select * from ${sql.table(table)} ${from} order by ${sql.ref(
          key,
        )} limit ${PAGE_ROWS}`.execute(trx);
      if (rows.length > 0) yield { table, rows };
      if (rows.length < PAGE_ROWS) break;
      after = (rows.at(-1) as BackupRow)[key] ?? null;
    }
  }
}

function checkCounts(found: Record<string, number>, announced: Record<string, number>): void {
  for (const table of new Set([...Object.keys(found), ...Object.keys(announced)])) {
    const rows = found[table] ?? 0;
    const expected = announced[table] ?? 0;
    if (rows !== expected)
      throw badInput(`the backup holds ${rows} rows of ${table} where its header says ${expected}`);
  }
}

/** Multi-row inserts, batched per table and sized so no statement binds too many parameters. */
class RowInserter {
  readonly counts: Record<string, number> = {};
  private readonly batches = new Map<BackupTable, { columns: string[]; rows: BackupRow[] }>();

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly engine: Pick<EngineSpecifics, "parameterMark" | "isRefusedRow">,
  ) {}

  async add({ table, row }: BackupRecord): Promise<void> {
    if (!isBackupTable(table))
      throw badInput(`the backup holds rows of a table this version lacks: ${table.slice(0, 64)}`);
    const columns = Object.keys(row);
    if (columns.length === 0 || !columns.every((column) => COLUMN_NAME.test(column)))
      throw badInput(`the backup holds a row of ${table} with unusable columns`);
    let batch = this.batches.get(table);
    if (batch && batch.columns.join() !== columns.join()) {
      await this.flush(table);
      batch = undefined;
    }
    if (!batch) {
      batch = { columns, rows: [] };
      this.batches.set(table, batch);
    }
    batch.rows.push(row);
    this.counts[table] = (this.counts[table] ?? 0) + 1;
    if (batch.rows.length >= Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / columns.length)))
      await this.flush(table);
  }

  async flushAll(): Promise<void> {
    for (const table of [...this.batches.keys()]) await this.flush(table);
  }

  private async flush(table: BackupTable): Promise<void> {
    const batch = this.batches.get(table);
    this.batches.delete(table);
    if (!batch || batch.rows.length === 0) return;
    const { columns, rows } = batch;
    // Written out here rather than built node by node: a million rows spend their time in SQL, not in
    // compiling it. Names are checked (COLUMN_NAME, BACKUP_TABLES); every value is a parameter.
    const parameters: unknown[] = [];
    const tuples = rows.map((row) => {
      const marks = columns.map((column) => {
        parameters.push(row[column] ?? null);
        return this.engine.parameterMark(parameters.length);
      });
      return `(${marks.join(",")})`;
    });
    const names = columns.map((column) => `"${column}"`).join(",");
    try {
      await this.trx.executeQuery(
        CompiledQuery.raw(`insert into "${table}" (${names}) values ${tuples.join(",")}`, parameters),
      );
    } catch (error) {
      if (!this.engine.isRefusedRow(error)) throw error;
      throw conflict(
        `the backup's rows of ${table} do not fit this database (a row exists already, or a column differs): restore into an empty server of the version that made the backup`,
      );
    }
  }
}
