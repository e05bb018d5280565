import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { TransactionalAuditAppender } from "./audit-appenders.js";
import { errorCode } from "./engine.js";
import { kyselyStore } from "./kysely-store.js";
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
  const store = kyselyStore(db, {
    engine: "postgres",
    location: urlWithoutPassword(url),
    auditAppender: new TransactionalAuditAppender(db, lockAuditChain, events.auditTransaction),
    lockAuditChain,
    snapshotSource: () => ({
      transaction: db.startTransaction().setIsolationLevel("repeatable read").setAccessMode("read only"),
      release: async () => {},
    }),
    parameterMark: (index) => `$${index}`,
    // Classes 22 (data exception), 23 (integrity constraint) and 42 (syntax, undefined column).
    isRefusedRow: (error) => /^(22|23|42)/.test(errorCode(error)),
    async databaseTime() {
      const { rows } = await sql<{
        ms: number;
      }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(db);
      return rows[0]?.ms ?? null;
    },
    async probeWrite() {
      // PostgreSQL finds room for a row (or refuses a read-only write) at the insert: one where the
      // chain's rows go, rolled back, never seen by anyone. seq -1 is never a chain position.
      const rolledBack = new Error("write probe rolled back");
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto("audit_entries").values(PROBE_ROW).execute();
          throw rolledBack;
        });
      } catch (error) {
        if (error !== rolledBack) throw error;
      }
    },
    close: async () => {},
  });
  return reportingUnavailableStorage(store, events);
}

/** The row of the write probe, rolled back as soon as it is inserted. */
const PROBE_ROW = {
  seq: -1,
  time: new Date(0).toISOString(),
  actor: "write probe",
  action: "probe",
  target: null,
  outcome: "allowed",
  reason: null,
  request_id: "write-probe",
  remote_addr: null,
  user_agent: null,
  approval_ids: "[]",
  details: "{}",
  prev_hash: "",
  hash: "",
  token: null,
  token_name: null,
} as const;

/** bigint columns (audit seq, accepted steps) and counts read as numbers, as on SQLite: none comes near 2^53. */
const INTEGERS_AS_NUMBERS = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary" ? Number : pg.types.getTypeParser(oid, format),
};

/** A Kysely handle on PostgreSQL, connected and migrated. A failure to connect keeps its code (ECONNREFUSED, 3D000…). */
export async function openPostgresDatabase(url: string, poolSize = 10): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: INTEGERS_AS_NUMBERS,
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
