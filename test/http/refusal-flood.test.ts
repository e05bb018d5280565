import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/core/audit-chain.js";
import { systemClock } from "../../src/core/clock.js";
import { addressBlockOf, RefusalFlood } from "../../src/services/audit/refusal-flood.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Anyone who reaches the server can send requests without a valid token, thousands a second, and
 * each refusal was an audit entry (21.7 MB in 10 s). Each address gets a budget of refusals
 * audited one by one a minute; past it the answer is 429 and the refusals are counted, then
 * recorded as one `auth.flood` entry per address and minute. A valid token is never held up.
 */

let t: TestServer | undefined;
let restarted: TestServer | undefined;
afterEach(async () => {
  await restarted?.close();
  await t?.close();
  t = undefined;
  restarted = undefined;
});

const BUDGET = 50;

/** One request from a given loopback address (the server listens on 127.0.0.1; Linux routes all of 127/8). */
function callFrom(localAddress: string, url: string, path: string, token?: string): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const headers = token ? { "x-vault-token": token } : undefined;
    const outgoing = request(`${url}${path}`, { method: "GET", localAddress, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const headers = new Headers(response.headers as Record<string, string>);
        resolve({ status: response.statusCode ?? 0, text, json: JSON.parse(text), headers });
      });
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** `count` requests without a valid token (none, or a made-up one), `parallel` at a time; the statuses seen. */
async function flood(server: TestServer, count: number, from = "127.0.0.1", parallel = 50) {
  const statuses = new Map<number, number>();
  const paths = ["/v1/auth/token/lookup-self", "/v1/totp/keys?list=true", "/v1/audit"];
  for (let sent = 0; sent < count; sent += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - sent) }, (_, i) =>
      callFrom(
        from,
        server.server.url,
        paths[(sent + i) % paths.length] as string,
        (sent + i) % 2 === 0 ? undefined : "bgs.made-up",
      ),
    );
    for (const answer of await Promise.all(batch))
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  }
  return statuses;
}

const entriesAfter = async (server: TestServer, seq: number): Promise<AuditEntry[]> =>
  (await server.server.services.audit.list({ afterSeq: seq })).filter(
    (entry) => entry.action !== "audit.checkpoint",
  );
const lastSeq = async (server: TestServer) => (await server.server.services.audit.list({})).at(-1)?.seq ?? 0;

describe("a flood of requests without a valid token", () => {
  it("adds its budget of entries and one auth.flood entry naming the count; a valid token still works; the chain verifies", async () => {
    t = await startTestServer({ rateLimits: { unauthenticated_refusals: BUDGET } });
    const { rootToken } = await initAndUnseal(t);
    const since = await lastSeq(t);
    const started = Date.now();

    const statuses = await flood(t, 2000);
    const seconds = (Date.now() - started) / 1000;
    expect(Object.fromEntries(statuses)).toEqual({ 403: BUDGET, 429: 2000 - BUDGET });

    const refused = await callFrom("127.0.0.1", t.server.url, "/v1/auth/token/lookup-self");
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.json.errors[0]).toBe(
      `too many refused requests without a valid token from this address (at most ${BUDGET} a minute): try again in ${retryAfter} s`,
    );
    // The same address with a valid token, in the middle of its flood.
    const valid = await callFrom("127.0.0.1", t.server.url, "/v1/auth/token/lookup-self", rootToken);
    expect(valid.status).toBe(200);

    const duringFlood = await entriesAfter(t, since);
    expect(duringFlood.filter((entry) => entry.outcome === "denied")).toHaveLength(BUDGET);
    await t.server.services.refusalFlood.flush();
    const written = await entriesAfter(t, since);
    console.log(
      `${2000} refused requests in ${seconds.toFixed(1)} s: ${written.length} audit entries (budget ${BUDGET})`,
    );
    expect(written.length).toBeLessThanOrEqual(BUDGET + 5);
    const floods = written.filter((entry) => entry.action === "auth.flood");
    expect(floods).toHaveLength(1);
    const entry = floods[0] as AuditEntry;
    expect(entry).toMatchObject({
      actor: "anonymous",
      outcome: "denied",
      remote_addr: "127.0.0.1",
      details: {
        address: "127.0.0.1",
        count: 2000 - BUDGET + 1,
        audited: BUDGET,
        actions: "audit.read,token.lookup-self,totp.key.list",
      },
    });
    const first = Date.parse(entry.details.first as string);
    const last = Date.parse(entry.details.last as string);
    expect(first).toBeGreaterThanOrEqual(started);
    expect(last).toBeGreaterThanOrEqual(first);
    expect(Date.parse(entry.time)).toBeGreaterThanOrEqual(last);

    const verified = (await t.call("GET", "/v1/audit/verify", { token: rootToken })).json.data;
    expect(verified).toMatchObject({ intact: true, problem: null });
  });

  it("counts each address on its own: another one still has its whole budget", async () => {
    t = await startTestServer({ rateLimits: { unauthenticated_refusals: 5 } });
    await initAndUnseal(t);
    expect(Object.fromEntries(await flood(t, 20, "127.0.0.1", 5))).toEqual({ 403: 5, 429: 15 });
    expect(Object.fromEntries(await flood(t, 5, "127.0.0.2", 5))).toEqual({ 403: 5 });
    expect(Object.fromEntries(await flood(t, 1, "127.0.0.2", 1))).toEqual({ 429: 1 });
  });

  it("is recorded at shutdown for the minute it was in, and the budgets start afresh after each entry", async () => {
    t = await startTestServer({ rateLimits: { unauthenticated_refusals: 5 } });
    const { keys, rootToken } = await initAndUnseal(t);
    const since = await lastSeq(t);
    expect(Object.fromEntries(await flood(t, 12, "127.0.0.1", 4))).toEqual({ 403: 5, 429: 7 });
    await t.server.services.refusalFlood.flush();
    expect(Object.fromEntries(await flood(t, 8, "127.0.0.1", 4))).toEqual({ 403: 5, 429: 3 });
    const storage = t.storage;
    await t.close();
    t = undefined;

    restarted = await startTestServer({ storage });
    const floods = (await entriesAfter(restarted, since)).filter((entry) => entry.action === "auth.flood");
    expect(floods.map((entry) => entry.details.count)).toEqual([7, 3]);
    for (const key of keys.slice(0, 2)) await restarted.call("PUT", "/v1/sys/unseal", { body: { key } });
    const verified = (await restarted.call("GET", "/v1/audit/verify", { token: rootToken })).json.data;
    expect(verified).toMatchObject({ intact: true, problem: null });
  });
});

describe("the addresses a flood is counted for", () => {
  it("takes an IPv6 /64 as one address, and an IPv4 address mapped into IPv6 as itself", () => {
    expect(addressBlockOf("203.0.113.7")).toBe("203.0.113.7");
    expect(addressBlockOf("::ffff:203.0.113.7")).toBe("203.0.113.7");
    for (const address of ["2001:db8:1:2::1", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2:a::b"])
      expect(addressBlockOf(address)).toBe("2001:db8:1:2::/64");
    expect(addressBlockOf("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(addressBlockOf("::1")).toBe("0:0:0:0::/64");
    expect(addressBlockOf("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressBlockOf("64:ff9b::192.0.2.33")).toBe("64:ff9b:0:0::/64");
  });

  it("follows a bounded number of addresses: those beyond share one count and one entry", async () => {
    t = await startTestServer();
    await initAndUnseal(t);
    const log = { info: () => undefined, warn: () => undefined };
    const guard = new RefusalFlood(
      t.server.services.audit,
      { perMinute: 1, maxAddresses: 3 },
      log,
      systemClock,
    );
    const since = await lastSeq(t);
    for (let i = 1; i <= 10; i++)
      for (let attempt = 0; attempt < 2; attempt++) {
        const ctx = {
          actor: null,
          requestId: `r-${i}-${attempt}`,
          remoteAddr: `198.51.100.${i}`,
          userAgent: null,
        };
        await guard.record(ctx, { action: "token.lookup-self", outcome: "denied" }).catch(() => undefined);
      }
    await guard.flush();
    const floods = (await entriesAfter(t, since)).filter((entry) => entry.action === "auth.flood");
    expect(floods.map((entry) => [entry.details.address, entry.details.count])).toEqual([
      ["198.51.100.1", 1],
      ["198.51.100.2", 1],
      ["198.51.100.3", 1],
      ["others", 13],
    ]);
  });
});
