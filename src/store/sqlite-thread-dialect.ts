import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";

type Reply =
  | { id: number; ok: true; rows: unknown[]; changes?: number }
  | { id: number; ok: false; message: string; code?: string };

/**
 * Kysely on a SQLite connection of its own in a worker thread (sqlite-thread-connection.cjs).
 * better-sqlite3 is synchronous: on the server's connection, a write that waits for the lock the
 * audit writer holds while it commits stops the event loop for that long (tens of milliseconds,
 * more under load). What writes often in the background — the delivery workers' positions and
 * leases — goes through here instead, and waits off the event loop.
 */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly file: string) {}

  createDriver(): Driver {
    return new SqliteThreadDriver(this.file);
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createAdapter() {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** One connection, one user at a time (a transaction's statements are not interleaved with others'). */
class SqliteThreadDriver implements Driver {
  private connection: SqliteThreadConnection | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async init(): Promise<void> {
    this.connection = new SqliteThreadConnection(this.file);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = this.connection;
    if (!connection) throw new Error("the SQLite thread connection is closed");
    const previous = this.queue;
    let release = () => {};
    this.queue = new Promise((resolve) => (release = resolve));
    await previous;
    connection.release = release;
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as SqliteThreadConnection).release();
  }

  async destroy(): Promise<void> {
    await this.connection?.close();
    this.connection = null;
  }
}

class SqliteThreadConnection implements DatabaseConnection {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>();
  private nextId = 1;
  /** Lets the next user of the connection in (set by the driver for each user). */
  release: () => void = () => {};

  constructor(file: string) {
    const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(new URL("./sqlite-thread-connection.cjs", import.meta.url), {
      workerData: { file, driverPath },
    });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      waiter?.resolve(reply);
    });
    this.worker.on("error", (error) => this.failAll(error));
    this.worker.on("exit", () => this.failAll(new Error("the SQLite thread connection stopped")));
  }

  async executeQuery<R>({ sql, parameters }: CompiledQuery): Promise<QueryResult<R>> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref(); // a statement under way keeps the process alive, as the main connection's would
      this.worker.postMessage({ id, sql, parameters });
    });
    if (!reply.ok) throw new SqliteWorkerError(reply.message, reply.code);
    return {
      rows: reply.rows as R[],
      numAffectedRows: reply.changes === undefined ? undefined : BigInt(reply.changes),
    };
  }

  // biome-ignore lint/correctness/useYield: Kysely's interface; nothing here streams (it throws at once).
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("the SQLite thread connection does not stream");
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}

/** What a worker thread's SQLite connection refused, with SQLite's code (SQLITE_BUSY, SQLITE_FULL…) for storage-faults.ts. */
export class SqliteWorkerError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}
