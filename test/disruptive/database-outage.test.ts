import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { type ServerProcess, startServerProcess } from "../e2e/cli-harness.js";
import {
  CodeReadLoad,
  expectEveryCodeAuditedOnOneChain,
  startTwoUnsealedNodes,
  type TwoNodes,
  unsealedWithOneCredential,
} from "../e2e/nodes-under-load.js";
import { callApi, RELEASED_CODE } from "../support/server.js";
import { newTestStorage, POSTGRES_ADMIN_URL, TEST_ENGINE } from "../support/storage.js";

/**
 * Stops or restarts the real PostgreSQL server (the local cluster on the test URL's port) under
 * running nodes. Disruptive to anything else using that server, so it runs in a pass of its own
 * (npm test does that when BREAKGLASS_TEST_DATABASE_URL points at this machine and the tests run
 * as root). Whatever happens, PostgreSQL is left running.
 */
const local =
  POSTGRES_ADMIN_URL !== undefined &&
  ["127.0.0.1", "localhost"].includes(new URL(POSTGRES_ADMIN_URL).hostname);
/** The local cluster serving the test URL's port, as pg_lsclusters lists it (version and name). */
const cluster = (() => {
  if (!local) return undefined;
  const port = new URL(POSTGRES_ADMIN_URL as string).port || "5432";
  try {
    const clusters = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/));
    const [version, name] = clusters.find((columns) => columns[2] === port) ?? [];
    return version && name ? { version, name } : undefined;
  } catch {
    return undefined;
  }
})();
const canStopPostgres = TEST_ENGINE === "postgres" && cluster !== undefined && process.getuid?.() === 0;
if (!canStopPostgres)
  console.warn(
    "database outage test skipped: needs BREAKGLASS_TEST_ENGINE=postgres, a local cluster and root",
  );

/** Asynchronous, so that the readers of the load keep asking while PostgreSQL goes down and up. */
const pgctl = async (action: "stop" | "start" | "restart") => {
  await promisify(execFile)("pg_ctlcluster", [
    "--skip-systemctl-redirect",
    cluster?.version as string,
    cluster?.name as string,
    action,
    ...(action === "start" ? [] : ["-m", "fast"]),
  ]);
};

function postgresIsUp(): boolean {
  try {
    execFileSync("pg_isready", ["-q", "-d", POSTGRES_ADMIN_URL as string]);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!canStopPostgres)("when PostgreSQL stops under a running node", () => {
  let node: ServerProcess;
  let root: string;

  beforeAll(async () => {
    node = await startServerProcess(await newTestStorage("postgres"));
    root = await unsealedWithOneCredential([node.url]);
    expect((await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
  });
  afterAll(async () => {
    // Whatever happened, leave the machine's PostgreSQL running.
    if (canStopPostgres && !postgresIsUp()) await pgctl("start");
    await node?.stop();
  });

  it("code reads fail with 503 and release nothing, health says 503, and both recover by themselves when it is back", async () => {
    await pgctl("stop");
    const refused = await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root });
    expect(refused.status).toBe(503);
    expect(refused.json.errors).toHaveLength(1);
    expect(refused.text).not.toMatch(RELEASED_CODE);
    const health = await callApi(node.url, "GET", "/v1/sys/health");
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ sealed: false, storage_reachable: false });

    await pgctl("start");
    let status = 0;
    for (let attempt = 0; attempt < 200 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root })).status;
    }
    expect(status).toBe(200);
    expect((await callApi(node.url, "GET", "/v1/sys/health")).status).toBe(200);
    const exported = await callApi(node.url, "GET", "/v1/audit/export", { token: root });
    expect(
      verifyChain(
        exported.text
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line)),
      ).firstProblem,
    ).toBeNull();
  });
});

describe.skipIf(!canStopPostgres)("when PostgreSQL restarts under two loaded nodes", () => {
  let two: TwoNodes;

  beforeAll(async () => {
    two = await startTwoUnsealedNodes(await newTestStorage("postgres"));
  });
  afterAll(async () => {
    if (canStopPostgres && !postgresIsUp()) await pgctl("start");
    await two?.stop();
  });

  it("both stay up and unsealed, answer only 200 or 503, serve again by themselves, and every code released is audited once on one chain", async () => {
    const load = new CodeReadLoad(two, 8);
    const recoveries: string[] = [];
    try {
      await load.recoveredAfter(Date.now());
      for (let round = 0; round < 2; round++) {
        const started = Date.now();
        await pgctl("restart");
        const restarted = Date.now();
        const fromStart = await load.recoveredAfter(started);
        recoveries.push(`restart: ${fromStart} ms from its start, ${Date.now() - restarted} ms once up`);
      }
      await pgctl("stop");
      await new Promise((resolve) => setTimeout(resolve, 3000));
      await pgctl("start");
      const since = Date.now();
      recoveries.push(`stopped 3 s: ${await load.recoveredAfter(since)} ms after the start`);
    } finally {
      if (!postgresIsUp()) await pgctl("start");
      await load.stop();
    }
    console.log(
      `PostgreSQL restarts under load: ${load.count(200)} codes (200), ${load.count(503)} refused (503), ` +
        `${load.answers.length} answers in all; back to 200 on both nodes: ${recoveries.join(", ")}`,
    );
    await expectEveryCodeAuditedOnOneChain(two, load);
  }, 180_000);
});
