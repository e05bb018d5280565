import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { type AuditEntry, verifyChain } from "../core/audit-chain.js";
import { BACKUP_TABLES } from "../store/kysely-backup.js";
import { migrateToLatest } from "../store/migrations.js";
import { openPostgresDatabase, openPostgresStore, urlWithoutPassword } from "../store/postgres.js";
import type { Database } from "../store/schema.js";
import { SQLITE_FILE_NAME } from "../store/sqlite.js";

/**
 * Moves a single-node install (a SQLite data directory) into an empty PostgreSQL database. Rows
 * are copied as stored: ciphertexts stay valid because their associated data names the table,
 * key and version, never the engine. The whole copy is one PostgreSQL transaction, read under a
 * write lock on the SQLite file, and the audit chain is verified again from PostgreSQL after commit.
 */

/**
 * Every table of a vault with its primary key, in the order they are copied: the seal
 * configuration, every table a backup holds (the audit chain last), and a restore's staged chunks.
 */
const VAULT_TABLES: Record<keyof Database, string> = {
  seal_config: "id",
  ...primaryKeys(BACKUP_TABLES),
  restore_chunks: "seq",
};
const TABLE_NAMES = Object.keys(VAULT_TABLES) as VaultTable[];
export type VaultTable = keyof Database;
export type RowCounts = Record<VaultTable, number>;

/** A refusal or failure the user can act on; the message says what happened to the target. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

export interface CopyProgress {
  /** Once, before the first row is copied. */
  counted(rows: RowCounts): void;
  /** After each chunk written to the target. */
  copied(table: VaultTable, rows: number): void;
  tableCopied(table: VaultTable, rows: number): void;
}

export interface MigrationSummary {
  /** The SQLite file read. */
  source: string;
  /** The target URL, its password masked. */
  target: string;
  rows: RowCounts;
  /** The audit chain as verified on PostgreSQL after commit. */
  audit: { entries: number; head_seq: number; head_hash: string | null };
}

const CHUNK_ROWS = 500;
const _CONNECT_TIMEOUT_MS = 3000;
/** How long to wait for a running server's write before saying the file is in use. */
const SOURCE_BUSY_TIMEOUT_MS = 2000;
const DROP_THE_TARGET = "drop the target database before trying again";

const NO_PROGRESS: CopyProgress = { counted() {}, copied() {}, tableCopied() {} };

export async function migrateSqliteToPostgres(
  dataDir: string,
  databaseUrl: string,
  progress: CopyProgress = NO_PROGRESS,
): Promise<MigrationSummary> {
  const target = urlWithoutPassword(databaseUrl);
  const sourcePath = join(resolve(dataDir), SQLITE_FILE_NAME);
  const source = await openSource(dataDir, sourcePath);
  let copy: { rows: RowCounts; auditHead: { seq: number; hash: string } | null };
  try {
    const targetDb = await openTarget(databaseUrl, target);
    try {
      copy = await source
        .connection()
        .execute((reader) =>
          underWriteLock(reader, sourcePath, () => copyVault(reader, targetDb, dataDir, target, progress)),
        );
    } finally {
      await targetDb.destroy();
    }
  } finally {
    await source.destroy();
  }
  const audit = await verifyCopiedChain(databaseUrl, target, copy.rows.audit_entries, copy.auditHead);
  return { source: sourcePath, target, rows: copy.rows, audit };
}

/** The URL as it may be shown: the password (in the authority or as a parameter) replaced by ****. */
async function openSource(dataDir: string, path: string): Promise<Kysely<Database>> {
  if (!existsSync(path))
    throw new MigrationError(`no breakglass data in ${dataDir} (no ${SQLITE_FILE_NAME})`);
  const sqlite = new SQLite(path, { fileMustExist: true });
  sqlite.pragma(`busy_timeout = ${SOURCE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

async function openTarget(url: string, target: string): Promise<Kysely<Database>> {
  try {
    return await openPostgresDatabase(url, 1);
  } catch (error) {
    throw new MigrationError(`cannot use ${target}: ${describeError(error)}`);
  }
}

/**
 * BEGIN IMMEDIATE takes SQLite's write lock for the whole copy (the dialect keeps one connection),
 * so a server still running on the file cannot append an entry the copy would miss: it fails closed.
 */
async function underWriteLock<T>(reader: Kysely<Database>, path: string, read: () => Promise<T>): Promise<T> {
  try {
    await sql`begin immediate`.execute(reader);
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_BUSY")
      throw new MigrationError(
        `${path} is in use: stop the breakglass server on it first; nothing was copied`,
      );
    throw error;
  }
  try {
    return await read();
  } finally {
    await sql`rollback`.execute(reader);
  }
}

async function copyVault(
  reader: Kysely<Database>,
  targetDb: Kysely<Database>,
  dataDir: string,
  target: string,
  progress: CopyProgress,
): Promise<{ rows: RowCounts; auditHead: { seq: number; hash: string } | null }> {
  const rows = await countRows(reader);
  if (rows.seal_config === 0)
    throw new MigrationError(`${dataDir} holds no initialised vault; nothing was copied`);
  progress.counted(rows);
  try {
    return await targetDb.transaction().execute(async (trx) => {
      // Concurrent writers (a node started on the target too early) wait until the copy commits.
      await sql`lock table ${sql.join(TABLE_NAMES.map((table) => sql.table(table)))} in exclusive mode`.execute(
        trx,
      );
      await refuseUnlessEmpty(trx);
      let auditHead: { seq: number; hash: string } | null = null;
      for (const table of TABLE_NAMES) {
        const last = await copyTable(reader, trx, table, progress);
        if (table === "audit_entries" && last) auditHead = { seq: Number(last.seq), hash: String(last.hash) };
      }
      return { rows, auditHead };
    });
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(
      `copying into ${target} failed and was rolled back; nothing was copied: ${describeError(error)}`,
    );
  }
}

async function countRows(db: Kysely<Database>): Promise<RowCounts> {
  const rows = {} as RowCounts;
  for (const table of TABLE_NAMES) {
    const { rows: counted } = await sql<{
      count: number | string;
    }>`select count(*) as count from ${sql.table(table)}`.execute(db);
    rows[table] = Number(counted[0]?.count ?? 0); // PostgreSQL returns a bigint count as a string
  }
  return rows;
}

async function refuseUnlessEmpty(db: Kysely<Database>): Promise<void> {
  const rows = await countRows(db);
  if (TABLE_NAMES.some((table) => rows[table] > 0))
    throw new MigrationError("the target database already holds a breakglass vault; nothing was copied");
}

type Row = Record<string, unknown>;

function primaryKeys<T extends string>(tables: Record<T, { key: string }>): Record<T, string> {
  return Object.fromEntries(
    Object.entries<{ key: string }>(tables).map(([table, { key }]) => [table, key]),
  ) as Record<T, string>;
}

/** Copies a table as stored, in chunks of CHUNK_ROWS rows in primary key order; returns the last row copied. */
async function copyTable(
  reader: Kysely<Database>,
  writer: Kysely<Database>,
  table: VaultTable,
  progress: CopyProgress,
): Promise<Row | undefined> {
  const key = VAULT_TABLES[table];
  let last: Row | undefined;
  let copied = 0;
  for (;;) {
    const after = last === undefined ? sql`` : sql`where ${sql.ref(key)} > ${last[key]}`;
    const { rows } = await sql<Row>`select * from ${sql.table(table)} ${after}
      order by ${sql.ref(key)} limit ${CHUNK_ROWS}`.execute(reader);
    if (rows.length > 0) {
      const columns = Object.keys(rows[0] as Row);
      await sql`insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.ref(column)))})
        values ${sql.join(rows.map((row) => sql`(${sql.join(columns.map((column) => row[column]))})`))}`.execute(
        writer,
      );
      copied += rows.length;
      last = rows[rows.length - 1];
      progress.copied(table, rows.length);
    }
    if (rows.length < CHUNK_ROWS) break;
  }
  progress.tableCopied(table, copied);
  return last;
}

/** Reads the chain back the way a server on the target will, and holds it against the source's. */
async function verifyCopiedChain(
  url: string,
  target: string,
  sourceEntries: number,
  sourceHead: { seq: number; hash: string } | null,
): Promise<MigrationSummary["audit"]> {
  const entries: AuditEntry[] = [];
  try {
    const store = await openPostgresStore(url);
    try {
      for (;;) {
        const chunk = await store.listAuditEntries({ afterSeq: entries.at(-1)?.seq ?? 0, limit: CHUNK_ROWS });
        entries.push(...chunk);
        if (chunk.length < CHUNK_ROWS) break;
      }
    } finally {
      await store.close();
    }
  } catch (error) {
    throw new MigrationError(
      `the copy into ${target} was committed but could not be read back to verify it: ${describeError(error)}; ${DROP_THE_TARGET}`,
    );
  }
  const { count, head, firstProblem } = verifyChain(entries);
  if (firstProblem)
    throw new MigrationError(
      `the audit chain copied into ${target} is broken at entry ${firstProblem.seq}: ${firstProblem.problem}; ${DROP_THE_TARGET}`,
    );
  if (count !== sourceEntries || head?.seq !== sourceHead?.seq || head?.hash !== sourceHead?.hash)
    throw new MigrationError(
      `the audit chain copied into ${target} differs from the source: ${count} entries up to seq ${head?.seq ?? 0}, ` +
        `the source has ${sourceEntries} up to seq ${sourceHead?.seq ?? 0}; ${DROP_THE_TARGET}`,
    );
  return { entries: count, head_seq: head?.seq ?? 0, head_hash: head?.hash ?? null };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
