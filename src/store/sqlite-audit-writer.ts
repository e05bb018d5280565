import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { AuditEntry } from "../core/audit-chain.js";
import type { AuditHead } from "./store.js";

type Reply = { id: number; ok: true } | { id: number; ok: false; message: string };

/**
 * Main-thread side of the audit writer worker (sqlite-audit-writer.cjs). One batch at a time is
 * in flight: the caller (the audit log) serialises flushes, and links each batch to the head it
 * read; the worker refuses the batch if the head moved, so the chain cannot fork.
 */
export class SqliteAuditWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 1;

  constructor(file: string) {
    const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(new URL("./sqlite-audit-writer.cjs", import.meta.url), {
      workerData: { file, driverPath },
    });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.ok) waiter?.resolve();
      else waiter?.reject(new Error(`audit write failed: ${reply.message}`));
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", () => this.failAll(new Error("audit writer stopped")));
  }

  write(entries: AuditEntry[], expectedHead: AuditHead | null): Promise<void> {
    const id = this.nextId++;
    const rows = entries.map((entry) => ({
      ...entry,
      approval_ids: JSON.stringify(entry.approval_ids),
      details: JSON.stringify(entry.details),
    }));
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref(); // keep the process alive while a commit is pending
      this.worker.postMessage({ id, rows, expectedHead });
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
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
