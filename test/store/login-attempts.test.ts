import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import { newTestStorage, openTestStore, TEST_ENGINE } from "../support/storage.js";

/** The login attempt counter of each engine, under concurrency (PostgreSQL: a pool of connections). */
let store: Store;
beforeAll(async () => {
  const storage = await newTestStorage();
  store = await openTestStore(storage);
});
afterAll(() => store?.close());

describe(`counting login attempts (${TEST_ENGINE})`, () => {
  it("200 concurrent attempts against one subject each get their own count, none lost: 1 to 200", async () => {
    const at = new Date().toISOString();
    const counts = await Promise.all(
      Array.from({ length: 200 }, () => store.countLoginAttempt("user:target", at, null)),
    );
    expect(counts.map((counted) => counted.failures).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    expect((await store.readLoginFailures("user:target"))?.failures).toBe(200);
  });

  it("each attempt hands back the time of the one counted before it, and taking one back restores that time", async () => {
    const first = await store.countLoginAttempt("addr:192.0.2.1", "2030-01-01T00:00:00.000Z", null);
    const second = await store.countLoginAttempt("addr:192.0.2.1", "2030-01-01T00:00:05.000Z", null);
    expect(first).toEqual({ failures: 1, previousAttemptAt: null });
    expect(second).toEqual({ failures: 2, previousAttemptAt: "2030-01-01T00:00:00.000Z" });
    await store.uncountLoginAttempt("addr:192.0.2.1", "2030-01-01T00:00:05.000Z");
    expect(await store.readLoginFailures("addr:192.0.2.1")).toEqual({
      failures: 1,
      lastAttemptAt: "2030-01-01T00:00:00.000Z",
    });
  });
});
