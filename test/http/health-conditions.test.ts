import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { describeSealStatus } from "../../src/cli/commands/status.js";
import { encodeBase32Upper } from "../support/encodings.js";
import {
  type ApiResponse,
  initAndUnseal,
  RELEASED_CODE,
  startTestServer,
  type TestServer,
} from "../support/server.js";
import { newTestStorage, TEST_ENGINE, withAdminClient } from "../support/storage.js";

/**
 * Health says whether the node can serve: the conditions of node-condition.ts are listed on it
 * (`problems` make it 503, as sealed does; `warnings` leave it 200), on seal-status, in
 * `breakglass status` and on /metrics.
 */

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const health = (server: TestServer, query = "") => server.call("GET", `/v1/sys/health${query}`);

function gauge(metrics: ApiResponse, cause: string, kind: string): string | undefined {
  const line = metrics.text
    .split("\n")
    .find((l) => l.startsWith(`breakglass_node_condition{cause="${cause}",kind="${kind}"}`));
  return line?.split(" ").at(-1);
}

describe("conditions of a node on its health", () => {
  it("a warning leaves health at 200 and is listed; a blocking one makes it 503 (the sealed code a balancer asks for) until cleared; seal-status, the CLI and /metrics show them", async () => {
    t = await startTestServer();
    await initAndUnseal(t);
    const condition = t.server.services.nodeCondition;
    expect((await health(t)).json).toMatchObject({ problems: [], warnings: [] });

    condition.set("clock_skew", "warning", "the clock is 3 s ahead of the database's");
    const warned = await health(t);
    expect(warned.status).toBe(200);
    expect(warned.json).toMatchObject({
      problems: [],
      warnings: [
        {
          cause: "clock_skew",
          message: "the clock is 3 s ahead of the database's",
          since: expect.any(String),
        },
      ],
    });

    condition.set("storage_write", "blocking", "the store refuses writes: the disk is full");
    const blocked = await health(t);
    expect(blocked.status).toBe(503);
    expect(blocked.json).toMatchObject({
      sealed: false,
      storage_reachable: true,
      problems: [{ cause: "storage_write", message: "the store refuses writes: the disk is full" }],
      warnings: [{ cause: "clock_skew" }],
    });
    expect((await health(t, "?sealedcode=429")).status).toBe(429);
    expect((await t.call("HEAD", "/v1/sys/health")).status).toBe(503);

    const status = await t.call("GET", "/v1/sys/seal-status");
    expect(status.json).toMatchObject({
      problems: [{ cause: "storage_write" }],
      warnings: [{ cause: "clock_skew" }],
    });
    const lines = describeSealStatus(status.json).join("\n");
    expect(lines).toMatch(
      /PROBLEM \(storage_write, since [^)]+\): the store refuses writes: the disk is full/,
    );
    expect(lines).toMatch(/WARNING \(clock_skew, since [^)]+\): the clock is 3 s ahead/);

    const during = await t.call("GET", "/metrics");
    expect(gauge(during, "storage_write", "blocking")).toBe("1");
    expect(gauge(during, "clock_skew", "warning")).toBe("1");

    condition.clear("storage_write");
    expect((await health(t)).status).toBe(200);
    expect(gauge(await t.call("GET", "/metrics"), "storage_write", "blocking")).toBe("0");
  });
});

describe.skipIf(TEST_ENGINE !== "postgres")("a PostgreSQL database that refuses writes (read-only)", () => {
  /** Makes the test database read-only, or writable again, for every connection: the pool's are ended and reopened. */
  async function setReadOnly(database: string, readOnly: boolean): Promise<void> {
    await withAdminClient(async (client) => {
      await client.query(
        `alter database ${database} set default_transaction_read_only = ${readOnly ? "on" : "off"}`,
      );
      await client.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
        [database],
      );
    });
  }

  it("code reads answer 503 naming it and release nothing, health says 503 with the cause, and both come back by themselves once it takes writes", async () => {
    const storage = await newTestStorage("postgres");
    if (storage.engine !== "postgres") throw new Error("unexpected storage");
    const database = new URL(storage.databaseUrl).pathname.slice(1);
    t = await startTestServer({ storage, captureLog: "info" });
    const server = t;
    const { rootToken } = await initAndUnseal(server);
    await server.call("POST", "/v1/totp/keys/aws-prod-root", {
      token: rootToken,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
    const read = () => server.call("GET", "/v1/totp/code/aws-prod-root", { token: rootToken });
    expect((await read()).status).toBe(200);

    await setReadOnly(database, true);
    try {
      let refused = await read();
      for (let attempt = 0; attempt < 20 && refused.status === 503 && !/25006/.test(refused.text); attempt++)
        refused = await read(); // the first after the connections ended may be told "storage unavailable"
      expect(refused.status).toBe(503);
      expect(refused.json.errors).toEqual([expect.stringContaining("the database refuses writes")]);
      expect(refused.text).not.toMatch(RELEASED_CODE);
      const blocked = await health(server);
      expect(blocked.status).toBe(503);
      expect(blocked.json.problems).toEqual([
        expect.objectContaining({ cause: "storage_write", message: expect.stringContaining("(25006)") }),
      ]);
    } finally {
      await setReadOnly(database, false);
    }

    let back = await health(server);
    for (let attempt = 0; attempt < 300 && back.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await health(server);
    }
    expect(back.status).toBe(200);
    expect(server.log()).toContain("storage writes succeed again");
    expect((await read()).status).toBe(200);
    const verified = await server.call("GET", "/v1/audit/verify", { token: rootToken });
    expect(verified.json.data ?? verified.json).toMatchObject({ intact: true });
    expect(server.log()).not.toContain("internal error");
  });
});
