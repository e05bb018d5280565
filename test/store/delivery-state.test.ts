import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chainEntries } from "../../src/core/audit-chain.js";
import { SQLITE_FILE_NAME } from "../../src/store/sqlite.js";
import type { Store } from "../../src/store/store.js";
import { newTestStorage, openTestStore, TEST_ENGINE, type TestStorage } from "../support/storage.js";

/** Leases, positions and the outbox of each engine, under concurrency (PostgreSQL: a pool of connections). */
let store: Store;
let storage: TestStorage;
beforeAll(async () => {
  storage = await newTestStorage();
  store = await openTestStore(storage);
});
afterAll(() => store?.close());

const NOW = 1_800_000_000_000;

describe(`delivery state (${TEST_ENGINE})`, () => {
  it.skipIf(TEST_ENGINE !== "sqlite")(
    "waits for SQLite's write lock off the event loop: timers run while a lease waits for it",
    async () => {
      if (storage.engine !== "sqlite") throw new Error("unexpected storage");
      // Another connection holds the write lock, as the audit writer does while it commits.
      const other = new SQLite(join(storage.dataDir, SQLITE_FILE_NAME));
      other.exec("begin immediate");
      const order: string[] = [];
      const claimed = store.delivery
        .claimLease("delivery:locked", "a", NOW, NOW + 10_000)
        .then((ok) => order.push(`claimed ${ok}`));
      try {
        // On the server's own connection the claim would wait in the busy handler, the event
        // loop stopped: this timer could not run, nor the rollback below, until it gave up.
        await new Promise((resolve) => setTimeout(resolve, 20));
        order.push("timer");
      } finally {
        other.exec("rollback");
        other.close();
      }
      await claimed;
      expect(order).toEqual(["timer", "claimed true"]);
    },
  );

  it("a lease goes to one of 50 claiming at once; to nobody else until it lapses; then to one again", async () => {
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.delivery.claimLease("delivery:x", `node-${i}`, NOW, NOW + 10_000),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = `node-${claims.indexOf(true)}`;
    expect(await store.delivery.claimLease("delivery:x", "another", NOW + 5_000, NOW + 15_000)).toBe(false);
    expect(await store.delivery.claimLease("delivery:x", winner, NOW + 5_000, NOW + 15_000)).toBe(true); // renewed
    const lapsed = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.delivery.claimLease("delivery:x", `late-${i}`, NOW + 16_000, NOW + 26_000),
      ),
    );
    expect(lapsed.filter(Boolean)).toHaveLength(1);
  });

  it("only the lease holder moves a position, only forward; a released lease is free at once", async () => {
    expect(await store.delivery.position("webhook:ops", 7)).toBe(7);
    expect(await store.delivery.position("webhook:ops", 99)).toBe(7); // started once
    expect(await store.delivery.claimLease("delivery:webhook:ops", "a", NOW, NOW + 10_000)).toBe(true);
    expect(await store.delivery.advance("webhook:ops", 9, "delivery:webhook:ops", "b")).toBe(false);
    expect(await store.delivery.advance("webhook:ops", 9, "delivery:webhook:ops", "a")).toBe(true);
    expect(await store.delivery.advance("webhook:ops", 8, "delivery:webhook:ops", "a")).toBe(false);
    expect(await store.delivery.position("webhook:ops", 0)).toBe(9);
    await store.delivery.releaseLease("delivery:webhook:ops", "a");
    expect(await store.delivery.claimLease("delivery:webhook:ops", "b", NOW, NOW + 10_000)).toBe(true);
  });

  it("an event is stored under its audit entry's seq, in the entry's transaction; none for an entry that tells nothing", async () => {
    const before = await store.delivery.outboxHead();
    const entries = await store.appendAuditEntries(
      (head) =>
        chainEntries(
          head,
          ["one", "two"].map((name) => ({
            time: new Date(NOW).toISOString(),
            actor: "system",
            action: "devices.reminders",
            target: name,
            outcome: "allowed" as const,
            reason: null,
            request_id: name,
            remote_addr: null,
            user_agent: null,
            approval_ids: [],
            details: {},
          })),
        ),
      [null, JSON.stringify({ type: "device.reminder", text: "two" })],
    );
    const stored = await store.delivery.outboxAfter(before, 10);
    expect(stored).toEqual([
      {
        seq: entries[1]?.seq,
        time: entries[1]?.time,
        event: JSON.stringify({ type: "device.reminder", text: "two" }),
      },
    ]);
    await store.delivery.pruneOutbox(entries[1]?.seq as number);
    expect(await store.delivery.outboxAfter(before, 10)).toEqual([]);
  });

  it("prunes more events than one chunk takes, up to the position and not past it", async () => {
    const seqs: number[] = [];
    // Many chunks and some, appended as the audit log does: in batches.
    for (let batch = 0; batch < 12; batch++) {
      const size = batch === 11 ? 1_001 : 1_000;
      const entries = await store.appendAuditEntries(
        (head) =>
          chainEntries(
            head,
            Array.from({ length: size }, (_, i) => ({
              time: new Date(NOW).toISOString(),
              actor: "system",
              action: "devices.reminders",
              target: `device-${i}`,
              outcome: "allowed" as const,
              reason: null,
              request_id: `prune-${batch}-${i}`,
              remote_addr: null,
              user_agent: null,
              approval_ids: [],
              details: {},
            })),
          ),
        Array.from({ length: size }, (_, i) => JSON.stringify({ type: "device.reminder", text: `${i}` })),
      );
      seqs.push(...entries.map((entry) => entry.seq));
    }
    const keptFrom = seqs.at(-2) as number;
    await store.delivery.pruneOutbox(keptFrom - 1);
    const left = await store.delivery.outboxAfter(0, 10);
    expect(left.map((row) => row.seq)).toEqual(seqs.slice(-2));
  });
});
