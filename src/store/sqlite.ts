import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { PipelinedAuditAppender, TransactionalAuditAppender } from "./audit-appenders.js";
import { type EngineSpecifics, errorCode } from "./engine.js";
import { kyselyStore } from "./kysely-store.js";
import { migrateToLatest } from "./migrations.js";
import type { Database } from "./schema.js";
import { SqliteAuditWriter } from "./sqlite-audit-writer.js";
import { SqliteThreadDialect } from "./sqlite-thread-dialect.js";
import { unwritableDataDirectory } from "./storage-faults.js";
import type { Store, StoreEvents } from "./store.js";
import { reportingUnavailableStorage } from "./unavailable.js";

export const SQLITE_FILE_NAME = "breakglass.sqlite";

/** A path in the data directory whose mode had to be changed, as it was found. */
export interface ModeTightened {
  path: string;
  /** Octal, as `ls -l` and chmod write it: "0755". */
  oldMode: string;
  mode: string;
}

const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * The embedded default. WAL with synchronous=FULL: a commit returns only after the WAL is fsynced,
 * which is what "durable before released" rests on. `dataDir` null means in memory (--dev).
 * `events.modesTightened` hears of the modes of the data directory that had to be made private.
 */
export async function openSqliteStore(
  dataDir: string | null,
  events: StoreEvents & { modesTightened?(tightened: ModeTightened[]): void } = {},
): Promise<Store> {
  let path = ":memory:";
  const dir = dataDir === null ? null : resolve(dataDir);
  let db: Kysely<Database>;
  try {
    if (dir !== null) {
      path = join(dir, SQLITE_FILE_NAME);
      const tightened = keepDataPrivate(dir, path);
      if (tightened.length > 0) events.modesTightened?.(tightened);
      checkRoomToWrite(dir);
    }
    db = await openMigrated(path);
  } catch (error) {
    // "disk I/O error" alone does not say that the disk is full: name the directory and the cause.
    throw dir === null ? error : unwritableDataDirectory(error, dir);
  }
  // On a file, a writer thread makes audit entries durable without blocking the event loop. In
  // memory (--dev) there is no file for a second connection to share, and no fsync to hide.
  const auditWriter = dataDir === null ? null : new SqliteAuditWriter(path, events.auditTransaction);
  // The delivery workers write their positions and leases all the time: off the event loop, as the audit is.
  const deliveryDb =
    dataDir === null ? undefined : new Kysely<Database>({ dialect: new SqliteThreadDialect(path) });
  const store = kyselyStore(db, {
    ...sqliteSpecifics(db, path),
    auditAppender: auditWriter
      ? new PipelinedAuditAppender(db, (entries, head, outbox) => auditWriter.write(entries, head, outbox))
      : new TransactionalAuditAppender(db, async () => {}, events.auditTransaction),
    deliveryDb,
    close: async () => {
      await deliveryDb?.destroy();
      await auditWriter?.close();
    },
  });
  return reportingUnavailableStorage(store, events);
}

/** What SQLite does its own way; the audit appender and closing depend on whether there is a file. */
function sqliteSpecifics(
  db: Kysely<Database>,
  path: string,
): Omit<EngineSpecifics, "auditAppender" | "close"> {
  return {
    engine: "sqlite",
    location: path,
    snapshotSource() {
      // A connection of its own on the file: its read transaction sees one state while the server
      // keeps writing (WAL). In memory (--dev) there is only the one connection, which the snapshot then holds.
      if (path === ":memory:") return { transaction: db.startTransaction(), release: async () => {} };
      const file = new SQLite(path, { readonly: true, fileMustExist: true });
      file.pragma("busy_timeout = 5000");
      const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
      return { transaction: reader.startTransaction(), release: () => reader.destroy() };
    },
    parameterMark: () => "?",
    isRefusedRow: (error) => /^SQLITE_(CONSTRAINT|ERROR|MISMATCH|RANGE)/.test(errorCode(error)),
    databaseTime: async () => null, // this machine's clock is the database's
    async probeWrite() {
      // SQLite writes only at commit: the header's user_version rewritten as it is, one page and one fsync.
      const { rows } = await sql<{ user_version: number }>`pragma user_version`.execute(db);
      await sql.raw(`pragma user_version = ${rows[0]?.user_version ?? 0}`).execute(db);
    },
  };
}

async function openMigrated(path: string): Promise<Kysely<Database>> {
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db as Kysely<unknown>);
  return db;
}

/** Room for SQLite's WAL and shared memory to start with; less, and the start is refused. */
const ROOM_TO_START_BYTES = 256 * 1024;

/** Writes and syncs a file of ROOM_TO_START_BYTES in `dir`, then removes it: a full disk is ENOSPC here, not a later "disk I/O error". */
function checkRoomToWrite(dir: string): void {
  const file = join(dir, ".write-check");
  const fd = openSync(file, "w", FILE_MODE);
  try {
    writeSync(fd, Buffer.alloc(ROOM_TO_START_BYTES));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
}

/**
 * The data directory 0700 and every file in it 0600 (the database, its -wal and -shm), at every
 * start and whatever the umask: a directory made by hand or by an older version keeps the mode it
 * was given. A new database file is made 0600 here; SQLite gives its -wal and -shm the same mode.
 */
function keepDataPrivate(dir: string, databaseFile: string): ModeTightened[] {
  mkdirSync(dir, { recursive: true, mode: DIRECTORY_MODE });
  const tightened: ModeTightened[] = [];
  const keep = (path: string, mode: number) => {
    const found = statSync(path).mode & 0o7777;
    if (found === mode) return;
    chmodSync(path, mode);
    tightened.push({ path, oldMode: octal(found), mode: octal(mode) });
  };
  keep(dir, DIRECTORY_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isFile()) keep(join(dir, entry.name), FILE_MODE);
  try {
    const created = openSync(databaseFile, "wx", FILE_MODE);
    fchmodSync(created, FILE_MODE); // the umask may have taken bits the owner needs
    closeSync(created);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return tightened;
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
