import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { migrateUpTo } from "../../src/store/migrations.js";
import { AUDIT_CHAIN_LOCK, openPostgresStore } from "../../src/store/postgres.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import type { Store } from "../../src/store/store.js";
import { tempDir } from "./tools.js";

/**
 * Where a test server keeps its data: a fresh SQLite directory, or a fresh PostgreSQL database
 * on the real server named by BREAKGLASS_TEST_DATABASE_URL. The whole suite runs once per
 * engine (BREAKGLASS_TEST_ENGINE=sqlite|postgres); tests reach the raw database only through here.
 */

export type Engine = "sqlite" | "postgres";
export type TestStorage = { engine: "sqlite"; dataDir: string } | { engine: "postgres"; databaseUrl: string };

export const TEST_ENGINE: Engine = process.env.BREAKGLASS_TEST_ENGINE === "postgres" ? "postgres" : "sqlite";
/** An administrative URL (any database) on the PostgreSQL server the tests may use. */
export const POSTGRES_ADMIN_URL = process.env.BREAKGLASS_TEST_DATABASE_URL;
export const POSTGRES_HOW_TO =
  "PostgreSQL tests skipped: set BREAKGLASS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them";
export const TEST_DATABASE_PREFIX = "breakglass_test_";
/** This test run's mark in its databases' names (set by the global setup): runs sharing a server leave each other's alone. */
const runMark = () => process.env.BREAKGLASS_TEST_RUN ?? "0";
const STALE_AFTER_SECONDS = 6 * 3600;

/**
 * For tests that need PostgreSQL itself (several nodes, migration, schema comparison): true when
 * this pass is not the PostgreSQL one, after saying where they run instead.
 */
export function skipOutsidePostgresPass(what: string): boolean {
  if (TEST_ENGINE === "postgres") return false;
  console.warn(
    `${what}: skipped in the ${TEST_ENGINE} pass; they run in the PostgreSQL pass, which npm test adds when BREAKGLASS_TEST_DATABASE_URL is set`,
  );
  return true;
}

export async function newTestStorage(engine: Engine = TEST_ENGINE): Promise<TestStorage> {
  if (engine === "sqlite") return { engine, dataDir: tempDir() };
  if (!POSTGRES_ADMIN_URL) throw new Error(POSTGRES_HOW_TO);
  const name = `${TEST_DATABASE_PREFIX}${runMark()}_${randomBytes(6).toString("hex")}`;
  await withAdminClient((client) => client.query(`create database ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return { engine, databaseUrl: url.toString() };
}

/** Options for startServer. */
export function serverStorageOptions(storage: TestStorage): { dataDir: string; databaseUrl?: string } {
  return storage.engine === "sqlite"
    ? { dataDir: storage.dataDir }
    : { dataDir: tempDir(), databaseUrl: storage.databaseUrl };
}

/** Flags for `breakglass server`. */
export function serverStorageFlags(storage: TestStorage): string[] {
  return storage.engine === "sqlite" ? ["--data", storage.dataDir] : ["--database", storage.databaseUrl];
}

/** A direct connection to the server's database, as an operator (or an intruder) would open one. */
export interface RawDatabase {
  /** Runs one statement; `?` placeholders on both engines. */
  run(statement: string, params?: unknown[]): Promise<void>;
  rows<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function openRawDatabase(storage: TestStorage): Promise<RawDatabase> {
  if (storage.engine === "sqlite") {
    const db = new SQLite(join(storage.dataDir, "breakglass.sqlite"));
    return {
      run: async (statement, params = []) => {
        db.prepare(statement).run(...params);
      },
      rows: async <T>(query: string, params: unknown[] = []) => db.prepare(query).all(...params) as T[],
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: storage.databaseUrl });
  await client.connect();
  const numbered = (text: string) => {
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  };
  return {
    run: async (statement, params = []) => {
      await client.query(numbered(statement), params);
    },
    rows: async <T>(query: string, params: unknown[] = []) =>
      (await client.query(numbered(query), params)).rows as T[],
    close: () => client.end(),
  };
}

/** Creates the schema as it was after migration `name`, as an older version of breakglass left it. */
/** The Store a server would open on `storage` (migrated to the latest schema). */
export function openTestStore(storage: TestStorage): Promise<Store> {
  return storage.engine === "sqlite"
    ? openSqliteStore(storage.dataDir)
    : openPostgresStore(storage.databaseUrl);
}

export async function migrateStorageUpTo(storage: TestStorage, name: string): Promise<void> {
  const dialect =
    storage.engine === "sqlite"
      ? new SqliteDialect({ database: new SQLite(join(storage.dataDir, "breakglass.sqlite")) })
      : new PostgresDialect({ pool: new pg.Pool({ connectionString: storage.databaseUrl, max: 1 }) });
  const db = new Kysely<unknown>({ dialect });
  try {
    await migrateUpTo(db, name);
  } finally {
    await db.destroy();
  }
}

/** Makes every audit insert fail (as a full disk would), until the returned function undoes it. */
export async function refuseAuditWrites(storage: TestStorage): Promise<() => Promise<void>> {
  const db = await openRawDatabase(storage);
  if (storage.engine === "sqlite") {
    await db.run(
      "create trigger refuse_audit before insert on audit_entries begin select raise(abort, 'disk full'); end",
    );
  } else {
    await db.run(
      "create function refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'disk full'; end $$",
    );
    await db.run(
      "create trigger refuse_audit before insert on audit_entries for each row execute function refuse_audit()",
    );
  }
  return async () => {
    await db.run(
      storage.engine === "sqlite"
        ? "drop trigger refuse_audit"
        : "drop trigger refuse_audit on audit_entries",
    );
    await db.close();
  };
}

/**
 * Holds the audit chain's write lock from another connection (SQLite's write lock, or the
 * PostgreSQL advisory lock every node takes), so appends wait behind it; the returned function
 * lets them go.
 */
export async function holdAuditWrites(storage: TestStorage): Promise<() => Promise<void>> {
  const db = await openRawDatabase(storage);
  await db.run(
    storage.engine === "sqlite" ? "begin immediate" : `select pg_advisory_lock(${AUDIT_CHAIN_LOCK})`,
  );
  return async () => {
    await db.run(storage.engine === "sqlite" ? "rollback" : `select pg_advisory_unlock(${AUDIT_CHAIN_LOCK})`);
    await db.close();
  };
}

/** Everything the server has stored, as bytes: every file of the data directory, or a dump of the database. */
export function storedBytes(storage: TestStorage): { where: string; content: Buffer }[] {
  if (storage.engine === "sqlite") {
    return readdirSync(storage.dataDir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => ({ where: entry.name, content: readFileSync(join(entry.parentPath, entry.name)) }));
  }
  return [{ where: "pg_dump", content: execFileSync("pg_dump", ["--no-owner", storage.databaseUrl]) }];
}

export async function withAdminClient<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** The name of a test database, from its URL. */
function databaseName(storage: TestStorage): string {
  if (storage.engine !== "postgres") throw new Error("a PostgreSQL test database is needed");
  return new URL(storage.databaseUrl).pathname.slice(1);
}

/**
 * Ends every connection to this test's database (and to no other), as `pg_terminate_backend` does
 * in an incident; returns once those backends are gone (the timeout argument waits for it).
 */
export async function terminateConnections(storage: TestStorage): Promise<void> {
  await withAdminClient((admin) =>
    admin.query(
      "select pg_terminate_backend(pid, 10000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [databaseName(storage)],
    ),
  );
}

/** ALTER DATABASE … ALLOW_CONNECTIONS; refusing also ends the connections already open. */
export async function allowConnections(storage: TestStorage, allow: boolean): Promise<void> {
  await withAdminClient((admin) =>
    admin.query(`alter database ${databaseName(storage)} allow_connections ${allow}`),
  );
  if (!allow) await terminateConnections(storage);
}

/** A run's mark: seconds since the epoch when it started, then random hex. */
export function newTestRunMark(): string {
  return `${Math.floor(Date.now() / 1000)}x${randomBytes(3).toString("hex")}`;
}

/**
 * Drops this run's databases, and those of runs older than a few hours (killed ones). A run going
 * on beside this one on the same server (another checkout's CI, say) keeps its databases.
 */
export async function dropTestDatabases(): Promise<void> {
  if (!POSTGRES_ADMIN_URL) return;
  await withAdminClient(async (client) => {
    const { rows } = await client.query("select datname from pg_database where datname like $1", [
      `${TEST_DATABASE_PREFIX}%`,
    ]);
    const now = Date.now() / 1000;
    for (const { datname } of rows as { datname: string }[]) {
      const mark = datname.slice(TEST_DATABASE_PREFIX.length).split("_")[0] ?? "";
      const started = Number(mark.split("x")[0]);
      const stale = !Number.isFinite(started) || started === 0 || now - started > STALE_AFTER_SECONDS;
      if (mark === runMark() || stale) await client.query(`drop database if exists ${datname} with (force)`);
    }
  });
}
