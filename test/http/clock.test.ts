import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditEntry, verifyChain } from "../../src/core/audit-chain.js";
import { Cli } from "../e2e/cli-harness.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { TEST_ENGINE } from "../support/storage.js";

/**
 * A wrong clock, injected into this process (vitest's fake Date: the server runs in it, its
 * monotonic clock and the database's are left alone). Before: wrong codes with no warning, an
 * expired token accepted again when the clock went back, audit times running backwards — all
 * verified "intact".
 */

const HOUR_MS = 3_600_000;
let t: TestServer;
let root: string;
let keys: string[];

/** Sets this process's wall clock `offsetMs` away from the real one; it keeps running from there. */
function shiftClock(offsetMs: number): void {
  vi.useRealTimers();
  const real = Date.now();
  vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
  vi.setSystemTime(real + offsetMs);
}

const readCode = (token = root) => t.call("GET", "/v1/totp/code/aws-prod-root", { token });

async function entries(): Promise<AuditEntry[]> {
  const text = (await t.call("GET", "/v1/audit/export", { token: root })).text;
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditEntry);
}

beforeAll(async () => {
  t = await startTestServer();
  ({ rootToken: root, keys } = await initAndUnseal(t, 1, 1));
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  vi.useRealTimers();
  await t.close();
});

describe("a clock set back an hour", () => {
  it("never dates an entry before the one it follows: it takes that time and records how far behind the clock was", async () => {
    expect((await readCode()).status).toBe(200);
    const before = (await entries()).at(-1) as AuditEntry;
    shiftClock(-HOUR_MS);
    expect((await readCode()).status).toBe(200);
    const all = await entries();
    const read = all.filter((entry) => entry.seq > before.seq && entry.action === "totp.code.read");
    expect(read).toHaveLength(1);
    const entry = read[0] as AuditEntry;
    expect(Date.parse(entry.time)).toBeGreaterThanOrEqual(Date.parse(before.time));
    expect(Number(entry.details.clock_behind_ms)).toBeGreaterThan(HOUR_MS - 60_000);
    for (let i = 1; i < all.length; i++)
      expect(Date.parse((all[i] as AuditEntry).time)).toBeGreaterThanOrEqual(
        Date.parse((all[i - 1] as AuditEntry).time),
      );
    expect(verifyChain(all)).toMatchObject({ firstProblem: null, timeBackwards: { count: 0 } });
    const verified = (await t.call("GET", "/v1/audit/verify", { token: root })).json.data;
    expect(verified, JSON.stringify(verified)).toMatchObject({
      intact: true,
      time_backwards: { count: 0, first: [] },
    });
  });

  it("does not bring an expired token back, in this process or after a restart", async () => {
    const made = await t.call("POST", "/v1/auth/token/create", {
      token: root,
      body: { policies: ["totp-reader"], ttl: "60s" },
    });
    const token = made.json.auth.client_token as string;
    expect((await readCode(token)).status).toBe(200);
    shiftClock(2 * 60_000); // past its expiry
    expect((await readCode(token)).status).toBe(403);
    shiftClock(0); // and back: the clock says it lives, but it was seen expired
    expect((await readCode(token)).status).toBe(403);

    // A restart with the clock still an hour behind: the chain's head is the floor.
    await t.close();
    shiftClock(-HOUR_MS);
    t = await startTestServer({ storage: t.storage });
    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
    expect((await readCode(token)).status).toBe(403);
  });
});

describe("a clock that jumps", () => {
  it("is said with every code (Vault's warnings) and in the metrics until a person can have seen it", async () => {
    // A node just started has read the wall clock (its first check, at start), so the jump below is
    // measured alone, whatever the earlier tests did to this process's clock.
    await t.close();
    t = await startTestServer({ storage: t.storage });
    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
    shiftClock(2 * HOUR_MS);
    // The check runs beside the read, so the jump is said from the next answer on.
    const saysJump = (answer: { json: { warnings?: string[] } }) =>
      /7200 s/.test(answer.json.warnings?.[0] ?? "");
    let warned = await readCode();
    for (let i = 0; i < 40 && !saysJump(warned); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      warned = await readCode();
    }
    expect(warned.status).toBe(200);
    expect(warned.json.warnings?.[0], JSON.stringify(warned.json.warnings)).toMatch(
      /this node.s clock jumped forward by 7200 s/,
    );
    const health = (await t.call("GET", "/v1/sys/health")).json;
    expect(health.warnings).toEqual([
      {
        cause: "clock",
        message: expect.stringMatching(/jumped forward by 7200 s/),
        since: expect.any(String),
      },
    ]);
    const status = await new Cli({ BREAKGLASS_ADDR: t.server.url }).run(["status"]);
    expect(status.stdout).toMatch(
      /WARNING \(clock, since [^)]+\): this node's clock .*jumped forward by 7200 s/,
    );
    const metrics = (await t.call("GET", "/metrics")).text;
    if (TEST_ENGINE === "postgres")
      // Every node of a cluster is held against PostgreSQL's clock.
      expect(warned.json.warnings?.[0]).toMatch(/this node's clock is 7200 s ahead of the database's/);
    expect(metrics).toMatch(/^breakglass_node_condition\{cause="clock",kind="warning"\} 1$/m);
    if (TEST_ENGINE === "postgres") expect(metrics).toMatch(/^breakglass_clock_skew_seconds -7\d{3}\.\d+$/m);
  });
});
