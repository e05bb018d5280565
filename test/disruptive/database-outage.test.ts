import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { type ServerProcess, startServerProcess } from "../e2e/cli-harness.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { callApi } from "../support/server.js";
import { newTestStorage, POSTGRES_ADMIN_URL, TEST_ENGINE } from "../support/storage.js";

/**
 * Stops the real PostgreSQL server under a running node and starts it again. Disruptive to
 * anything else using that server, so it runs in a pass of its own (npm test does that when
 * BREAKGLASS_TEST_DATABASE_URL points at this machine and the tests run as root).
 */
const cluster = (() => {
  try {
    return readdirSync("/etc/postgresql")[0];
  } catch {
    return undefined;
  }
})();
const local =
  POSTGRES_ADMIN_URL !== undefined &&
  ["127.0.0.1", "localhost"].includes(new URL(POSTGRES_ADMIN_URL).hostname);
const canStopPostgres =
  TEST_ENGINE === "postgres" && local && cluster !== undefined && process.getuid?.() === 0;
if (!canStopPostgres)
  console.warn(
    "database outage test skipped: needs BREAKGLASS_TEST_ENGINE=postgres, a local cluster and root",
  );

const pgctl = (action: "stop" | "start") =>
  execFileSync(
    "pg_ctlcluster",
    [
      "--skip-systemctl-redirect",
      cluster as string,
      "main",
      action,
      ...(action === "stop" ? ["-m", "fast"] : []),
    ],
    {
      stdio: "pipe",
    },
  );

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
    const init = await callApi(node.url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 1, secret_threshold: 1 },
    });
    root = init.json.root_token;
    await callApi(node.url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    await callApi(node.url, "POST", "/v1/totp/keys/aws-prod-root", {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
    expect((await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
  });
  afterAll(async () => {
    // Whatever happened, leave the machine's PostgreSQL running.
    if (canStopPostgres && !postgresIsUp()) pgctl("start");
    await node?.stop();
  });

  it("code reads fail with 503 and release nothing, health says 503, and both recover by themselves when it is back", async () => {
    pgctl("stop");
    const refused = await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root });
    expect(refused.status).toBe(503);
    expect(refused.json.errors).toHaveLength(1);
    expect(refused.text).not.toMatch(/"code"/);
    const health = await callApi(node.url, "GET", "/v1/sys/health");
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ sealed: false, storage_reachable: false });

    pgctl("start");
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
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
