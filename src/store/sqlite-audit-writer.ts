import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { AuditEntry } from "../core/audit-chain.js";
import { auditRowFromEntry } from "./audit-appenders.js";
import type { Database } from "./schema.js";
import { SqliteWorkerError } from "./sqlite-thread-dialect.js";
import type { AuditHead } from "./store.js";

interface Reply {
  results: ({ id: number; ok: true } | { id: number; ok: false; message: string; code?: string })[];
  /** Entries made durable by the transaction behind this reply (one fsync). */
  committed: number;
}

/**
 * Main-thread side of the audit writer worker (sqlite-audit-writer.cjs). Batches are posted in
 * the order they were linked; the worker commits whatever has queued in one transaction, and
 * refuses a batch linked to a head that is not the true one, so the chain cannot fork.
 */
export class SqliteAuditWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor(
    file: string,
    private readonly onTransaction: (entries: number) => void = () => {},
  ) {
    const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(new URL("./sqlite-audit-writer.cjs", import.meta.url), {
      workerData: { file, driverPath },
    });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      if (reply.committed > 0) this.onTransaction(reply.committed);
      for (const result of reply.results) {
        const waiter = this.waiting.get(result.id);
        this.waiting.delete(result.id);
        if (result.ok) waiter?.resolve();
        else waiter?.reject(new SqliteWorkerError(`audit write failed: ${result.message}`, result.code));
      }
      if (this.waiting.size === 0) this.worker.unref();
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", () => this.failAll(new Error("audit writer stopped")));
  }

  /** Resolves once the entries, and the outbox events written with them, are committed durably. */
  write(
    entries: AuditEntry[],
    expectedHead: AuditHead | null,
    outbox: Database["notification_outbox"][],
  ): Promise<void> {
    const id = this.nextId++;
    const rows = entries.map(auditRowFromEntry);
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref(); // keep the process alive while a commit is pending
      this.worker.postMessage({ id, rows, outbox, expectedHead });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
