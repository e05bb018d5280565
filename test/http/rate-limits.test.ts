import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/** Per-route limits on the endpoints that take shares, passwords, codes or votes, counted per address. */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

const TWO_A_MINUTE = {
  shares: 2,
  ceremonies: 2,
  login: 2,
  approvals: 2,
  code_validation: 2,
};

/** Every limited route, with a body it takes; most answer without a token, the rest are counted before it is checked. */
const LIMITED_ROUTES: [string, string, unknown][] = [
  ["PUT", "/v1/sys/unseal", { key: "00" }],
  ["PUT", "/v1/sys/init", { secret_shares: 1, secret_threshold: 1 }],
  ["POST", "/v1/sys/restore", undefined],
  ["PUT", "/v1/sys/custodians/drill", { key: "00" }],
  ["PUT", "/v1/sys/rekey/init", { secret_shares: 1, secret_threshold: 1 }],
  ["DELETE", "/v1/sys/rekey/init", undefined],
  ["PUT", "/v1/sys/rekey/update", { key: "00", nonce: "x" }],
  ["PUT", "/v1/sys/generate-root/attempt", {}],
  ["DELETE", "/v1/sys/generate-root/attempt", undefined],
  ["PUT", "/v1/sys/generate-root/update", { key: "00", nonce: "x" }],
  ["PUT", "/v1/sys/export-seed/attempt", { name: "x", pgp_key: "x" }],
  ["DELETE", "/v1/sys/export-seed/attempt", undefined],
  ["PUT", "/v1/sys/export-seed/update", { key: "00", nonce: "x" }],
  ["POST", "/v1/auth/userpass/login/alice", { password: "a wrong password" }],
  ["POST", "/v1/ui/session", { username: "alice", password: "a wrong password" }],
  ["PUT", "/v1/auth/userpass/mfa/confirm", { code: "123456" }],
  ["POST", "/v1/approvals", { key: "x", reason: "INC-1" }],
  ["POST", "/v1/approvals/some-id/approve", {}],
  ["POST", "/v1/approvals/some-id/deny", {}],
  ["POST", "/v1/totp/code/x", { code: "123456" }],
];

/** One request from a given loopback address (the server listens on 127.0.0.1; Linux routes all of 127/8). */
function callFrom(localAddress: string, url: string, method: string, path: string, body: unknown) {
  return new Promise<ApiResponse>((resolve, reject) => {
    const outgoing = request(`${url}${path}`, { method, localAddress }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const headers = new Headers(response.headers as Record<string, string>);
        resolve({ status: response.statusCode ?? 0, text, json: JSON.parse(text), headers });
      });
    });
    outgoing.on("error", reject);
    outgoing.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe("rate limits", () => {
  it.each(LIMITED_ROUTES)(
    "%s %s: past its limit a minute, 429 in Vault's error shape with Retry-After",
    async (method, path, body) => {
      t = await startTestServer({ rateLimits: TWO_A_MINUTE });
      for (let i = 0; i < 2; i++) expect((await t.call(method, path, { body })).status).not.toBe(429);
      const refused = await t.call(method, path, { body });
      expect(refused.status).toBe(429);
      expect(refused.json).toEqual({
        errors: [
          expect.stringMatching(
            /^too many requests to \/v1\/\S+ from this address \(at most 2 a minute\): try again in \d+ s$/,
          ),
        ],
        code: "TOO_MANY_ATTEMPTS",
      });
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.json.errors[0]).toContain(`try again in ${retryAfter} s`);
    },
  );

  it("a refused request does nothing: the right share past the limit leaves the vault sealed", async () => {
    t = await startTestServer({ rateLimits: TWO_A_MINUTE });
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 1, secret_threshold: 1 } });
    for (const wrong of ["ab", "cd"]) await t.call("PUT", "/v1/sys/unseal", { body: { key: wrong } });
    const refused = await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    expect(refused.status).toBe(429);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
  });

  it("counts per route and per address: PUT and POST of one write share a counter, other routes and addresses do not", async () => {
    t = await startTestServer({ rateLimits: TWO_A_MINUTE });
    const url = t.server.url;
    const unseal = (from: string, method = "PUT") =>
      callFrom(from, url, method, "/v1/sys/unseal", { key: "00" }).then((response) => response.status);
    expect([await unseal("127.0.0.1"), await unseal("127.0.0.1", "POST")]).toEqual([400, 400]);
    expect(await unseal("127.0.0.1", "POST")).toBe(429);
    // A forwarded-for header is not the address: the socket's is.
    const forwarded = await t.call("PUT", "/v1/sys/unseal", {
      body: { key: "00" },
      headers: { "X-Forwarded-For": "203.0.113.7" },
    });
    expect(forwarded.status).toBe(429);
    expect(await unseal("127.0.0.2")).toBe(400);
    const drill = await callFrom("127.0.0.1", url, "PUT", "/v1/sys/custodians/drill", { key: "00" });
    expect(drill.status).not.toBe(429);
  });

  it("the rest of the API is not limited, and what is refused is logged once per request as a warning", async () => {
    t = await startTestServer({ rateLimits: TWO_A_MINUTE, captureLog: true });
    for (let i = 0; i < 5; i++) expect((await t.call("GET", "/v1/sys/seal-status")).status).toBe(200);
    for (let i = 0; i < 3; i++) await t.call("PUT", "/v1/sys/unseal", { body: { key: "00" } });
    const warnings = t
      .log()
      .split("\n")
      .filter((line) => line.includes("rate limit exceeded"))
      .map((line) => JSON.parse(line));
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "rate limit exceeded: request refused",
        route: "/v1/sys/unseal",
        remote_addr: "127.0.0.1",
        limit_per_minute: 2,
      }),
    ]);
  });

  it("the API document lists the 429 of every limited route", async () => {
    t = await startTestServer();
    const paths = (await t.call("GET", "/v1/openapi.json")).json.paths;
    for (const [method, path] of LIMITED_ROUTES) {
      const documented = path
        .replace("alice", "{username}")
        .replace("some-id", "{id}")
        .replace("/x", "/{name}");
      expect(Object.keys(paths[documented][method.toLowerCase()].responses)).toContain("429");
    }
  });
});

describe("the default limits", () => {
  it("leave a ceremony of 10 custodians behind one address alone, each mistyping once: unseal, drills, a rekey", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 10, secret_threshold: 10 } });
    const mistypeThenGive = async (path: string, key: string, extra: object = {}) => {
      expect((await t.call("PUT", path, { body: { key: "zz", ...extra } })).status).toBe(400);
      const given = await t.call("PUT", path, { body: { key, ...extra } });
      expect(given.status).toBe(200);
    };
    for (const key of init.json.keys) await mistypeThenGive("/v1/sys/unseal", key);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(false);
    for (const key of init.json.keys) await mistypeThenGive("/v1/sys/custodians/drill", key);
    const rekey = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 10, secret_threshold: 10 },
    });
    for (const key of init.json.keys)
      await mistypeThenGive("/v1/sys/rekey/update", key, { nonce: rekey.json.nonce });
  });

  it("leave an on-call team of 20 behind one address alone, each signing in twice", async () => {
    t = await startTestServer();
    const { rootToken } = await initAndUnseal(t);
    const team = Array.from({ length: 20 }, (_, i) => `oncall-${i}`);
    for (const username of team)
      await t.call("PUT", `/v1/auth/userpass/users/${username}`, {
        token: rootToken,
        body: { password: `${username}'s long password` },
      });
    for (const username of [...team, ...team]) {
      const login = await t.call("POST", `/v1/auth/userpass/login/${username}`, {
        body: { password: `${username}'s long password` },
      });
      expect(login.status).toBe(200);
    }
  });
});
