import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { BreakglassError } from "../core/errors.js";
import { TransactionalAuditAppender } from "./audit-appenders.js";
import { KyselyStore } from "./kysely-store.js";
import { migrateToLatest } from "./migrations.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";

/** The key of the advisory lock every node takes before appending to the one audit chain. */
const AUDIT_CHAIN_LOCK = 0x6267_6175; // "bgau"
const CONNECT_TIMEOUT_MS = 3000;

/**
 * PostgreSQL, for several stateless nodes on one database. The audit chain stays one chain:
 * every append runs in a transaction that first takes a transaction-scoped advisory lock, so
 * the head it reads is the true head on every node. Connection failures surface as
 * STORE_UNAVAILABLE (503), and the pool reconnects by itself when the database is back.
 */
export async function openPostgresStore(
  url: string,
  onAuditTransaction: (entries: number) => void = () => {},
): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection dropped by the server (restart, failover) must not crash the process.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await pool.query("select 1"); // a clear "cannot connect" (with its code) before any migration
    await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const store = new KyselyStore(db, {
    engine: "postgres",
    location: describeLocation(url),
    auditAppender: new TransactionalAuditAppender(
      db,
      async (trx) => {
        await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`.execute(trx);
      },
      onAuditTransaction,
    ),
    close: async () => {},
  });
  return translateConnectionFailures(store);
}

/** The database URL without its password, for status output and logs. */
function describeLocation(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "postgres";
  }
}

/** Wraps every store call so that a lost database reads as "storage unavailable", not as a bug. */
function translateConnectionFailures(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw isConnectionFailure(error) ? storageUnavailable() : error;
            })
          : result;
      };
    },
  });
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
]);

function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? "";
  // SQLSTATE class 08 (connection exception) and 57P0x (shutdown, crash, cannot connect now).
  return (
    CONNECTION_ERROR_CODES.has(code) ||
    code.startsWith("08") ||
    /^57P0[1-4]$/.test(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(error.message)
  );
}

function storageUnavailable(): BreakglassError {
  return new BreakglassError(
    "STORE_UNAVAILABLE",
    "storage unavailable: the database cannot be reached; nothing was changed or released",
  );
}
