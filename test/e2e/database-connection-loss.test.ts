import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allowConnections,
  newTestStorage,
  skipOutsidePostgresPass,
  type TestStorage,
  terminateConnections,
} from "../support/storage.js";
import {
  CodeReadLoad,
  expectEveryCodeAuditedOnOneChain,
  startTwoUnsealedNodes,
  type TwoNodes,
} from "./nodes-under-load.js";

/**
 * Issue 15: the database's connections cut under two loaded nodes (pg_terminate_backend, and
 * ALLOW_CONNECTIONS false for a while). Only this test's own database is touched, so it runs in
 * the ordinary PostgreSQL pass; a restart of the whole PostgreSQL server is in test/disruptive.
 */
const onPostgres = !skipOutsidePostgresPass("database connection loss tests");

const TERMINATE_ROUNDS = 5;
const REFUSAL_ROUNDS = 2;
const REFUSED_UNTIL = { timeout: 30_000, interval: 50 };
const STORAGE_UNAVAILABLE_LINE = '"msg":"storage unavailable: answering 503';

describe.skipIf(!onPostgres)("two loaded nodes whose PostgreSQL connections are cut", () => {
  let storage: TestStorage;
  let two: TwoNodes;

  beforeAll(async () => {
    storage = await newTestStorage("postgres");
    two = await startTwoUnsealedNodes(storage);
  });
  afterAll(async () => {
    if (storage) await allowConnections(storage, true);
    await two?.stop();
  });

  it("survive terminated backends and refused connections: up and unsealed, only 200 or 503, back by themselves, every code audited once on one chain", async () => {
    const load = new CodeReadLoad(two, 8);
    const recoveries: string[] = [];
    try {
      await load.recoveredAfter(Date.now());
      for (let round = 0; round < TERMINATE_ROUNDS; round++) {
        await terminateConnections(storage);
        const since = Date.now();
        recoveries.push(`terminated: ${await load.recoveredAfter(since)} ms`);
      }
      for (let round = 0; round < REFUSAL_ROUNDS; round++) {
        const refusedAt = Date.now();
        await allowConnections(storage, false);
        // Refused until every node has felt it: each has answered 503 to a read made meanwhile.
        const refusedEverywhere = () =>
          two.nodes.every((node) =>
            load.answers.some((a) => a.node === node.url && a.status === 503 && a.startedAt >= refusedAt),
          );
        await expect.poll(refusedEverywhere, REFUSED_UNTIL).toBe(true);
        const refusedMs = Date.now() - refusedAt;
        await allowConnections(storage, true);
        const since = Date.now();
        recoveries.push(`refused for ${refusedMs} ms: ${await load.recoveredAfter(since)} ms`);
      }
    } finally {
      await load.stop();
    }
    console.log(
      `connection loss under load: ${load.count(200)} codes (200), ${load.count(503)} refused (503), ` +
        `${load.answers.length} answers in all; back to 200 on both nodes after ${recoveries.join(", ")}; ` +
        `"storage unavailable" log lines per node: ${two.nodes.map((node) => node.log().split(STORAGE_UNAVAILABLE_LINE).length - 1).join(", ")}`,
    );
    await expectEveryCodeAuditedOnOneChain(two, load);
  }, 180_000);
});
