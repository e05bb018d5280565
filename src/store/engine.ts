import type { ControlledTransactionBuilder, Kysely, Transaction } from "kysely";
import type { AuditAppender } from "./audit-appenders.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";

/**
 * What differs between engines, each side written in the engine's file (sqlite.ts, postgres.ts);
 * everything else is the same Kysely code.
 */
export interface EngineSpecifics {
  engine: Store["engine"];
  location: string;
  auditAppender: AuditAppender;
  /** Where the delivery state is kept when not on the store's own connection (SQLite: a worker thread's). */
  deliveryDb?: Kysely<Database>;
  /** Takes the lock every node takes before appending to the audit chain (PostgreSQL); none on SQLite. */
  lockAuditChain?: (trx: Transaction<Database>) => Promise<void>;
  /** Where a backup is read: a transaction that sees one state while the server keeps writing, and what to free once it ends. */
  snapshotSource(): { transaction: ControlledTransactionBuilder<Database>; release(): Promise<void> };
  /** How hand-written SQL marks its `index`-th parameter (1-based). */
  parameterMark(index: number): string;
  /** The database refused a row (a constraint, a type, a missing column), as opposed to a fault of the moment. */
  isRefusedRow(error: unknown): boolean;
  databaseTime: Store["databaseTime"];
  probeWrite: Store["probeWrite"];
  close(): Promise<void>;
}

/** The code a driver puts on its errors (a SQLITE_… name, a PostgreSQL SQLSTATE), as text. */
export const errorCode = (error: unknown): string => String((error as { code?: unknown })?.code ?? "");
