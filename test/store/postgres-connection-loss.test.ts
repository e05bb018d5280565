import { type Kysely, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BreakglassError } from "../../src/core/errors.js";
import { openPostgresDatabase, openPostgresStore } from "../../src/store/postgres.js";
import type { Database } from "../../src/store/schema.js";
import { isStorageUnavailable } from "../../src/store/unavailable.js";
import { freePort } from "../e2e/cli-harness.js";
import {
  allowConnections,
  newTestStorage,
  skipOutsidePostgresPass,
  type TestStorage,
  terminateConnections,
  withAdminClient,
} from "../support/storage.js";

/**
 * Each way a real PostgreSQL connection is lost or refused, what pg then throws, and that it reads
 * as storage unavailable (503) — on the pool breakglass opens, whose clients must not crash the
 * process when their connection dies while checked out (issue 15).
 */
const onPostgres = !skipOutsidePostgresPass("PostgreSQL connection loss tests");

/** The error `attempt` rejects with; fails if it resolves. */
async function failureOf(attempt: Promise<unknown>): Promise<Error & { code?: string }> {
  const outcome = await attempt.then(
    () => new Error("expected a failure, got none"),
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error) || outcome.message === "expected a failure, got none") throw outcome;
  return outcome;
}

describe.skipIf(!onPostgres)("a PostgreSQL connection lost or refused, as pg reports it", () => {
  let storage: TestStorage;
  let url: string;
  let db: Kysely<Database>;

  beforeAll(async () => {
    storage = await newTestStorage("postgres");
    url = storage.engine === "postgres" ? storage.databaseUrl : "";
    db = await openPostgresDatabase(url, 2);
  });
  afterAll(async () => {
    await allowConnections(storage, true);
    await db?.destroy();
  });

  it("a query running when its backend is terminated fails with 57P01, storage unavailable", async () => {
    const running = failureOf(sql`select pg_sleep(30)`.execute(db));
    await withAdminClient(async (admin) => {
      const sleeping = () =>
        admin.query("select 1 from pg_stat_activity where query like 'select pg_sleep(30)%'");
      while ((await sleeping()).rowCount === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    });
    await terminateConnections(storage);
    const error = await running;
    expect({ code: error.code, message: error.message }).toEqual({
      code: "57P01",
      message: "terminating connection due to administrator command",
    });
    expect(isStorageUnavailable(error)).toBe(true);
  });

  it("a transaction whose connection is terminated between two queries fails as storage unavailable, and the process lives on", async () => {
    const emitted = vi.spyOn(pg.Client.prototype, "emit");
    const error = await failureOf(
      db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await terminateConnections(storage);
        // The client hears of it while checked out, between queries: no listener there used to end the process.
        const heard = () => emitted.mock.calls.some(([event]) => event === "error");
        await expect.poll(heard, { timeout: 10_000, interval: 20 }).toBe(true);
        await sql`select 1`.execute(trx);
      }),
    );
    emitted.mockRestore();
    // Usually the rollback's failure, which Kysely throws in place of the query's.
    expect(error.message).toMatch(
      /^(Client has encountered a connection error and is not queryable|terminating connection due to administrator command|Connection terminated unexpectedly)$/,
    );
    expect(isStorageUnavailable(error)).toBe(true);
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
  });

  it("a new connection to a database that does not allow connections fails with 55000, storage unavailable", async () => {
    await allowConnections(storage, false);
    try {
      const error = await failureOf(sql`select 1`.execute(db));
      expect(error.code).toBe("55000");
      expect(error.message).toMatch(/is not currently accepting connections/);
      expect(isStorageUnavailable(error)).toBe(true);
    } finally {
      await allowConnections(storage, true);
    }
  });

  it("a pool whose every connection is in use fails after the connect timeout, storage unavailable", async () => {
    const single = await openPostgresDatabase(url, 1);
    let letGo = () => {};
    const holding = single.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      await new Promise<void>((resolve) => {
        letGo = resolve;
      });
    });
    try {
      const error = await failureOf(sql`select 1`.execute(single));
      expect(error.message).toBe("timeout exceeded when trying to connect");
      expect(isStorageUnavailable(error)).toBe(true);
    } finally {
      letGo();
      await holding;
      await single.destroy();
    }
  });

  it("a pool already closed (a call still running at shutdown), through Kysely or pg-pool, reads as storage unavailable", async () => {
    const closed = await openPostgresDatabase(url, 1);
    await closed.destroy();
    const ended = new pg.Pool({ connectionString: url });
    await ended.end();
    const errors = [await failureOf(sql`select 1`.execute(closed)), await failureOf(ended.query("select 1"))];
    expect(errors.map((error) => error.message)).toEqual([
      "driver has already been destroyed",
      "Cannot use a pool after calling end on the pool",
    ]);
    expect(errors.filter((error) => !isStorageUnavailable(error))).toEqual([]);
  });

  it("no server listening at the address: ECONNREFUSED, storage unavailable", async () => {
    const nowhere = new URL(url);
    nowhere.port = String(await freePort());
    const error = await failureOf(openPostgresDatabase(nowhere.toString(), 1));
    expect(error.code).toBe("ECONNREFUSED");
    expect(isStorageUnavailable(error)).toBe(true);
  });

  it("the store answers STORE_UNAVAILABLE while connections are refused, and tells its owner the cause", async () => {
    const causes: unknown[] = [];
    const store = await openPostgresStore(url, { unavailable: (cause) => causes.push(cause) });
    try {
      await allowConnections(storage, false);
      const error = await failureOf(store.readSealConfig());
      expect(error).toBeInstanceOf(BreakglassError);
      expect((error as BreakglassError).code).toBe("STORE_UNAVAILABLE");
      expect(causes).toEqual([expect.objectContaining({ code: "55000" })]);
    } finally {
      await allowConnections(storage, true);
    }
    await store.readSealConfig();
    await store.close();
  });
});
