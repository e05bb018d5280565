import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { TransactionalAuditAppender } from "./audit-appenders.js";
import { KyselyStore } from "./kysely-store.js";
import { migrateToLatest } from "./migrations.js";
import type { Database } from "./schema.js";
import type { Store, StoreEvents } from "./store.js";
import { reportingUnavailableStorage } from "./unavailable.js";

/** The key of the advisory lock every node takes before appending to the one audit chain. */
export const AUDIT_CHAIN_LOCK = 0x6267_6175; // "bgau"
const CONNECT_TIMEOUT_MS = 3000;

/**
 * PostgreSQL, for several stateless nodes on one database. The audit chain stays one chain:
 * every append runs in a transaction that first takes a transaction-scoped advisory lock, so
 * the head it reads is the true head on every node. Connection failures surface as
 * STORE_UNAVAILABLE (503, unavailable.ts), and the pool reconnects by itself when the database is back.
 */
export async function openPostgresStore(url: string, events: StoreEvents = {}): Promise<Store> {
  const db = await openPostgresDatabase(url);
  const lockAuditChain = async (trx: Transaction<Database>) => {
    await sql`select pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`.execute(trx);
  };
  const store = new KyselyStore(db, {
    engine: "postgres",
    location: urlWithoutPassword(url),
    auditAppender: new TransactionalAuditAppender(db, lockAuditChain, events.auditTransaction),
    lockAuditChain,
    close: async () => {},
  });
  return reportingUnavailableStorage(store, events);
}

/** A Kysely handle on PostgreSQL, connected and migrated. A failure to connect keeps its code (ECONNREFUSED, 3D000…). */
export async function openPostgresDatabase(url: string, poolSize = 10): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A connection the server drops (terminated backend, restart, failover) emits 'error' on its
  // client, whether idle or checked out for a query or a transaction; unheard, that would end the
  // process. The query in flight fails by itself (a 503) and the pool discards the client.
  pool.on("connect", (client) => client.on("error", () => {}));
  pool.on("error", () => {}); // an idle client's error, passed on by the pool
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await pool.query("select 1"); // a clear "cannot connect" before any migration
    await migrateToLatest(db as Kysely<unknown>);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/** The database URL with its password masked, for status output, logs and messages. */
export function urlWithoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "****";
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "****");
    return parsed.toString();
  } catch {
    return "the PostgreSQL URL given";
  }
}
