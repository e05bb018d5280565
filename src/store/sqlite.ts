import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { PipelinedAuditAppender, TransactionalAuditAppender } from "./audit-appenders.js";
import { KyselyStore } from "./kysely-store.js";
import { migrateToLatest } from "./migrations.js";
import type { Database } from "./schema.js";
import { SqliteAuditWriter } from "./sqlite-audit-writer.js";
import type { Store } from "./store.js";
import { reportingUnavailableStorage } from "./unavailable.js";

export const SQLITE_FILE_NAME = "breakglass.sqlite";

/**
 * The embedded default. WAL with synchronous=FULL: a commit returns only after the WAL is fsynced,
 * which is what "durable before released" rests on. `dataDir` null means in memory (--dev).
 */
export async function openSqliteStore(
  dataDir: string | null,
  onAuditTransaction: (entries: number) => void = () => {},
): Promise<Store> {
  let path = ":memory:";
  if (dataDir !== null) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    path = join(resolve(dataDir), SQLITE_FILE_NAME);
  }
  const sqlite = new SQLite(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db as Kysely<unknown>);
  // On a file, a writer thread makes audit entries durable without blocking the event loop. In
  // memory (--dev) there is no file for a second connection to share, and no fsync to hide.
  const auditWriter = dataDir === null ? null : new SqliteAuditWriter(path, onAuditTransaction);
  const store = new KyselyStore(db, {
    engine: "sqlite",
    location: path,
    auditAppender: auditWriter
      ? new PipelinedAuditAppender(db, (entries, head) => auditWriter.write(entries, head))
      : new TransactionalAuditAppender(db, async () => {}, onAuditTransaction),
    close: async () => {
      await auditWriter?.close();
    },
  });
  return reportingUnavailableStorage(store);
}
