import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { BACKUP_TABLES } from "../store/kysely-backup.js";
import { migrateToLatest } from "../store/migrations.js";
import { openPostgresDatabase, urlWithoutPassword } from "../store/postgres.js";
import type { Database } from "../store/schema.js";
import { SQLITE_FILE_NAME } from "../store/sqlite.js";
import {
  compareDigests,
  describeDifferences,
  readPostgresSnapshot,
  readVaultState,
  storedTables,
  type TableCheck,
  tablesOutsideList,
  type VaultState,
} from "./migration-check.js";

/**
 * Moves a single-node install (a SQLite data directory) into an empty PostgreSQL database. Rows
 * are copied as stored: ciphertexts stay valid because their associated data names the table,
 * key and version, never the engine. The whole copy is one PostgreSQL transaction, read under a
 * write lock on the SQLite file. After commit every table is read back and held against the
 * source (rows and a digest of their content, migration-check.ts) and the audit chain verified.
 */

/**
 * Every table of a vault with its primary key, in the order they are copied: the seal
 * configuration, every table a backup holds (the audit chain last), and a restore's staged chunks.
 * The type makes it every table of the schema; the source's catalogue is checked against it too.
 */
const VAULT_TABLES: Record<keyof Database, string> = {
  seal_config: "id",
  ...primaryKeys(BACKUP_TABLES),
  restore_chunks: "seq",
  // Delivery state goes along: what was not yet delivered is delivered from PostgreSQL.
  notification_outbox: "seq",
  delivery_cursors: "destination",
  leases: "name",
  dead_letters: "letter",
  cluster_notices: "name",
  oidc_states: "state_hmac",
  passkey_challenges: "challenge",
};
export const MIGRATED_TABLES = Object.keys(VAULT_TABLES) as VaultTable[];
const TABLE_NAMES = MIGRATED_TABLES;
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

export interface MigrationReport {
  /** What this run did: copied, found the same vault copied before, or only compared (--verify-only). */
  outcome: "copied" | "already copied" | "verified";
  /** The SQLite file read. */
  source: string;
  /** The target URL, its password masked. */
  target: string;
  /** The last database migration applied, the same on both. */
  schema: string | null;
  tables: TableCheck[];
  /** The audit chain as verified on PostgreSQL. */
  audit: { entries: number; head_seq: number; head_hash: string | null };
  /** Why the target is not a faithful copy of the source, in one line; null when it is one. */
  problem: string | null;
}

const CHUNK_ROWS = 500;
/** How long to wait for a running server's write before saying the file is in use. */
const SOURCE_BUSY_TIMEOUT_MS = 2000;
const DROP_THE_TARGET = "drop the target database before trying again";

const NO_PROGRESS: CopyProgress = { counted() {}, copied() {}, tableCopied() {} };

export async function migrateSqliteToPostgres(
  dataDir: string,
  databaseUrl: string,
  progress: CopyProgress = NO_PROGRESS,
): Promise<MigrationReport> {
  const target = urlWithoutPassword(databaseUrl);
  const sourcePath = join(resolve(dataDir), SQLITE_FILE_NAME);
  const source = await openSource(dataDir, sourcePath, "upgrade");
  let copy: { outcome: MigrationReport["outcome"]; state: VaultState };
  try {
    const targetDb = await openTarget(databaseUrl, target);
    try {
      copy = await source.connection().execute((reader) =>
        underWriteLock(reader, sourcePath, async () => {
          const { state, clusterId } = await readSource(reader, dataDir, sourcePath, "nothing was copied");
          const outcome = await copyVault(reader, targetDb, target, clusterId, progress);
          return { outcome, state };
        }),
      );
    } finally {
      await targetDb.destroy();
    }
  } finally {
    await source.destroy();
  }
  return checkTarget(databaseUrl, target, sourcePath, copy.outcome, copy.state);
}

/** --verify-only: holds a copy made before against its source again, writing to neither. */
export async function verifySqliteToPostgres(dataDir: string, databaseUrl: string): Promise<MigrationReport> {
  const target = urlWithoutPassword(databaseUrl);
  const sourcePath = join(resolve(dataDir), SQLITE_FILE_NAME);
  const source = await openSource(dataDir, sourcePath, "read only");
  let state: VaultState;
  try {
    state = await source.connection().execute(async (reader) => {
      await sql`begin`.execute(reader); // one snapshot of every table
      try {
        return (await readSource(reader, dataDir, sourcePath, "nothing to verify")).state;
      } finally {
        await sql`rollback`.execute(reader);
      }
    });
  } finally {
    await source.destroy();
  }
  return checkTarget(databaseUrl, target, sourcePath, "verified", state);
}

/**
 * The SQLite file, upgraded to this version's schema before a copy, or opened read-only to
 * verify. Integers come as bigints: a number past 2^53 would be copied rounded (pg binds a bigint
 * as its decimal text).
 */
async function openSource(
  dataDir: string,
  path: string,
  mode: "upgrade" | "read only",
): Promise<Kysely<Database>> {
  if (!existsSync(path))
    throw new MigrationError(`no breakglass data in ${dataDir} (no ${SQLITE_FILE_NAME})`);
  const sqlite = new SQLite(path, { fileMustExist: true, readonly: mode === "read only" });
  sqlite.pragma(`busy_timeout = ${SOURCE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    if (mode === "upgrade") await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  sqlite.defaultSafeIntegers(true);
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
 * The source's tables as its own catalogue lists them, each read into a digest. A table this
 * version does not know would be left behind by the copy: refused.
 */
async function readSource(
  reader: Kysely<Database>,
  dataDir: string,
  path: string,
  nothingDone: string,
): Promise<{ state: VaultState; clusterId: string }> {
  const { unknown, missing } = tablesOutsideList(await storedTables(reader, "sqlite"), TABLE_NAMES);
  if (unknown.length > 0)
    throw new MigrationError(
      `${path} holds tables this version of breakglass does not know (${unknown.join(", ")}); ${nothingDone}`,
    );
  if (missing.length > 0)
    throw new MigrationError(
      `${path} lacks tables of this version's schema (${missing.join(", ")}); ${nothingDone}`,
    );
  const config = await reader.selectFrom("seal_config").select("cluster_id").executeTakeFirst();
  if (!config) throw new MigrationError(`${dataDir} holds no initialised vault; ${nothingDone}`);
  const state = await readVaultState(reader, "sqlite", VAULT_TABLES, { withChain: false });
  return { state, clusterId: config.cluster_id };
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

/** Copies every table, or finds this very vault there already (a rerun after an interruption). */
async function copyVault(
  reader: Kysely<Database>,
  targetDb: Kysely<Database>,
  target: string,
  clusterId: string,
  progress: CopyProgress,
): Promise<"copied" | "already copied"> {
  try {
    return await targetDb.transaction().execute(async (trx) => {
      // Concurrent writers (a node started on the target too early) wait until the copy commits.
      await sql`lock table ${sql.join(TABLE_NAMES.map((table) => sql.table(table)))} in exclusive mode`.execute(
        trx,
      );
      const held = await countRows(trx);
      if (TABLE_NAMES.some((table) => held[table] > 0)) {
        const config = await trx.selectFrom("seal_config").select("cluster_id").executeTakeFirst();
        if (config?.cluster_id === clusterId) return "already copied";
        throw new MigrationError(
          config
            ? "the target database already holds another breakglass vault; nothing was copied"
            : "the target database already holds breakglass data; nothing was copied",
        );
      }
      progress.counted(await countRows(reader));
      for (const table of TABLE_NAMES) await copyTable(reader, trx, table, progress);
      return "copied";
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
      count: number | string | bigint;
    }>`select count(*) as count from ${sql.table(table)}`.execute(db);
    rows[table] = Number(counted[0]?.count ?? 0); // PostgreSQL returns a bigint count as a string
  }
  return rows;
}

type Row = Record<string, unknown>;

function primaryKeys<T extends string>(tables: Record<T, { key: string }>): Record<T, string> {
  return Object.fromEntries(
    Object.entries<{ key: string }>(tables).map(([table, { key }]) => [table, key]),
  ) as Record<T, string>;
}

/** Copies a table as stored, in chunks of CHUNK_ROWS rows in primary key order. */
async function copyTable(
  reader: Kysely<Database>,
  writer: Kysely<Database>,
  table: VaultTable,
  progress: CopyProgress,
): Promise<void> {
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
}

/**
 * Reads the target back in one read-only snapshot, as a server on it will read it (the audit
 * chain through the store's own row mapping), and holds every table against the source's.
 */
async function checkTarget(
  url: string,
  target: string,
  sourcePath: string,
  outcome: MigrationReport["outcome"],
  source: VaultState,
): Promise<MigrationReport> {
  let state: VaultState;
  try {
    state = await readPostgresSnapshot(url, async (db) => {
      const catalogue = await storedTables(db, "postgres");
      if (!catalogue.has("kysely_migration"))
        throw new MigrationError(
          `${target} holds no breakglass schema: nothing was copied there; run the migration without --verify-only`,
        );
      const { unknown, missing } = tablesOutsideList(catalogue, TABLE_NAMES);
      if (unknown.length > 0 || missing.length > 0)
        throw new MigrationError(
          `${target} has other tables than the source (${[...unknown, ...missing].join(", ")}): ${DROP_THE_TARGET}`,
        );
      const config = await db.selectFrom("seal_config").select("id").executeTakeFirst();
      if (!config)
        throw new MigrationError(
          `${target} holds no vault: the copy was never committed; run the migration again without --verify-only`,
        );
      return readVaultState(db, "postgres", VAULT_TABLES, { withChain: true });
    });
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(
      outcome === "copied"
        ? `the copy into ${target} was committed but could not be read back to verify it: ${describeError(error)}; ${DROP_THE_TARGET}`
        : `cannot use ${target}: ${describeError(error)}`,
    );
  }
  const tables = compareDigests(source.digests, state.digests);
  const chain = state.chain ?? { count: 0, head: null, firstProblem: null };
  return {
    outcome,
    source: sourcePath,
    target,
    schema: state.schema.at(-1) ?? null,
    tables,
    audit: { entries: chain.count, head_seq: chain.head?.seq ?? 0, head_hash: chain.head?.hash ?? null },
    problem: problemWith(target, outcome, source.schema, state, tables),
  };
}

/** The first reason not to trust the target as a copy of the source, in one line. */
function problemWith(
  target: string,
  outcome: MigrationReport["outcome"],
  sourceSchema: string[],
  state: VaultState,
  tables: TableCheck[],
): string | null {
  const justCopied = outcome === "copied";
  // A copy found later may have been changed since; dropping it is then the operator's call.
  const remedy = justCopied
    ? DROP_THE_TARGET
    : "if no node serves from it yet, drop the target database and migrate again";
  if (sourceSchema.join() !== state.schema.join())
    return `the source's schema (${sourceSchema.at(-1) ?? "none"}) differs from ${target}'s (${state.schema.at(-1) ?? "none"}); ${remedy}`;
  const differences = describeDifferences(tables);
  if (differences)
    return justCopied
      ? `the copy in ${target} differs from the source in ${differences}; ${remedy}`
      : `${target} differs from the source in ${differences}: one of them changed after the copy (a server ran on it, or an edit); ${remedy}`;
  const broken = state.chain?.firstProblem;
  if (broken)
    return `the audit chain ${justCopied ? "copied into" : "in"} ${target} is broken at entry ${broken.seq}: ${broken.problem}; ${remedy}`;
  return null;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
