import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { parsePublicKey } from "../../src/core/audit-checkpoint.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { callApi } from "../support/server.js";
import { newTestStorage, skipOutsidePostgresPass, type TestStorage } from "../support/storage.js";
import { oathtoolCode, tempDir, writeFile } from "../support/tools.js";
import { type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * Two `breakglass server` processes on one PostgreSQL database: one vault, one audit chain.
 * Runs in the PostgreSQL pass of the suite only.
 */
const onPostgres = !skipOutsidePostgresPass("several-nodes tests");

describe.skipIf(!onPostgres)("two nodes on one PostgreSQL database", () => {
  let storage: TestStorage;
  let node1: ServerProcess;
  let node2: ServerProcess;
  let root: string;
  const seed = randomBytes(20);

  beforeAll(async () => {
    storage = await newTestStorage("postgres");
    // Checkpoints every 50 entries, so a few seconds of reads make several whatever the machine's speed.
    const config = writeFile(tempDir(), "breakglass.json", JSON.stringify({ audit_checkpoint_entries: 50 }));
    [node1, node2] = await Promise.all([
      startServerProcess(storage, ["--config", config]),
      startServerProcess(storage, ["--config", config]),
    ]);
    const init = await callApi(node1.url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    root = init.json.root_token;
    // Initialised once, on node 1; node 2 sees it, and each node is unsealed on its own.
    expect((await callApi(node2.url, "GET", "/v1/sys/init")).json).toEqual({ initialized: true });
    for (const node of [node1, node2])
      for (const key of init.json.keys.slice(1))
        await callApi(node.url, "PUT", "/v1/sys/unseal", { body: { key } });
    for (const node of [node1, node2])
      expect((await callApi(node.url, "GET", "/v1/sys/health")).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([node1?.stop(), node2?.stop()]);
  });

  it("serves on node 2 a key created on node 1, with oathtool's code", async () => {
    await callApi(node1.url, "POST", "/v1/totp/keys/aws-prod-root", {
      token: root,
      body: { key: encodeBase32Upper(seed) },
    });
    const code = (await callApi(node2.url, "GET", "/v1/totp/code/aws-prod-root", { token: root })).json.data;
    expect(code.code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: code.valid_from,
      }),
    );
  });

  it("keeps one unbroken chain under 16 concurrent readers per node for 5 s: every code received has exactly one audit entry", async () => {
    const received: { node: string; requestId: string }[] = [];
    const until = Date.now() + 5000;
    const reader = async (node: ServerProcess) => {
      while (Date.now() < until) {
        const response = await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root?reason=load", {
          token: root,
        });
        expect(response.status).toBe(200);
        received.push({ node: node.url, requestId: response.headers.get("x-request-id") as string });
      }
    };
    await Promise.all([
      ...Array.from({ length: 16 }, () => reader(node1)),
      ...Array.from({ length: 16 }, () => reader(node2)),
    ]);
    expect(new Set(received.map((r) => r.node)).size).toBe(2);
    expect(received.length).toBeGreaterThan(100);

    const exported = await callApi(node2.url, "GET", "/v1/audit/export", { token: root });
    const entries = exported.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    // Checkpoints appended by either node verify with the one published key, and the export ends signed.
    const publicKey = parsePublicKey(
      (await callApi(node1.url, "GET", "/v1/audit/public-key")).json.data.public_key_pem,
    );
    expect(verifyChain(entries, publicKey)).toMatchObject({
      count: entries.length,
      firstProblem: null,
      unsignedTail: null,
    });
    expect(entries.filter((e) => e.action === "audit.checkpoint").length).toBeGreaterThan(1);
    const reads = new Map<string, number>();
    for (const entry of entries)
      if (entry.action === "totp.code.read" && entry.outcome === "allowed")
        reads.set(entry.request_id, (reads.get(entry.request_id) ?? 0) + 1);
    const unmatched = received.filter(({ requestId }) => reads.get(requestId) !== 1);
    expect(unmatched).toEqual([]);
  });

  it("keeps serving on node 2 when node 1 is killed (SIGKILL)", async () => {
    await node1.kill();
    const code = await callApi(node2.url, "GET", "/v1/totp/code/aws-prod-root", { token: root });
    expect(code.status).toBe(200);
    expect((await callApi(node2.url, "GET", "/v1/sys/health")).status).toBe(200);
  });
});

describe.skipIf(!onPostgres)("a change on one node is in force on the other within 2 s", () => {
  let node1: ServerProcess;
  let node2: ServerProcess;
  let root: string;

  beforeAll(async () => {
    const storage = await newTestStorage("postgres");
    // Checkpoints every 50 entries, so a few seconds of reads make several whatever the machine's speed.
    const config = writeFile(tempDir(), "breakglass.json", JSON.stringify({ audit_checkpoint_entries: 50 }));
    [node1, node2] = await Promise.all([
      startServerProcess(storage, ["--config", config]),
      startServerProcess(storage, ["--config", config]),
    ]);
    const init = await callApi(node1.url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 1, secret_threshold: 1 },
    });
    root = init.json.root_token;
    for (const node of [node1, node2])
      await callApi(node.url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
  });
  afterAll(async () => {
    await Promise.all([node1?.stop(), node2?.stop()]);
  });

  /** Polls until `refused` holds; returns the milliseconds it took, or fails after 2 s. */
  async function millisecondsUntil(refused: () => Promise<boolean>): Promise<number> {
    const started = Date.now();
    while (Date.now() - started <= 2000) {
      if (await refused()) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("still allowed after 2 s");
  }

  it("a credential deleted on node 1 is refused on node 2", async () => {
    await callApi(node1.url, "POST", "/v1/totp/keys/leaving", {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
    expect((await callApi(node2.url, "GET", "/v1/totp/code/leaving", { token: root })).status).toBe(200); // cached on node 2
    expect((await callApi(node1.url, "DELETE", "/v1/totp/keys/leaving", { token: root })).status).toBe(204);
    const elapsed = await millisecondsUntil(
      async () => (await callApi(node2.url, "GET", "/v1/totp/code/leaving", { token: root })).status === 400,
    );
    expect(elapsed).toBeLessThanOrEqual(2000);
  });

  it("a token revoked on node 1 is refused on node 2", async () => {
    const token = (
      await callApi(node1.url, "POST", "/v1/auth/token/create", {
        token: root,
        body: { policies: ["default", "totp-reader"] },
      })
    ).json.auth.client_token;
    expect((await callApi(node2.url, "GET", "/v1/auth/token/lookup-self", { token })).status).toBe(200); // cached on node 2
    expect((await callApi(node1.url, "POST", "/v1/auth/token/revoke-self", { token })).status).toBe(204);
    const elapsed = await millisecondsUntil(
      async () => (await callApi(node2.url, "GET", "/v1/auth/token/lookup-self", { token })).status === 403,
    );
    expect(elapsed).toBeLessThanOrEqual(2000);
  });
});
