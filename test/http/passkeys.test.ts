import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Passkeys' refusals at the API (the ceremonies themselves, with a real authenticator, are
 * test/ui/passkeys-webauthn.test.ts): no token, a machine token, someone else's passkey, bad
 * bodies, a server without a relying party — each a clear 4xx, never a 5xx, and audited.
 */

let t: TestServer;
let root: string;
let alice: string;
let bob: string;

/** Options only: no browser answers here, so the origin need only be one. */
const ORIGIN = "https://breakglass.example.com";
const asLocalhost = {};

beforeAll(async () => {
  t = await startTestServer({ passkeyOrigin: ORIGIN });
  ({ rootToken: root } = await initAndUnseal(t));
  for (const name of ["alice", "bob"])
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      token: root,
      body: { password: `${name} has a long password` },
    });
  const login = async (name: string) =>
    (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name} has a long password` },
      })
    ).json.auth.client_token as string;
  alice = await login("alice");
  bob = await login("bob");
  // bob's passkey, as registration would have stored it (its key does not matter here).
  await t.server.services.store.passkeys.insert({
    id: "Ym9icy1wYXNza2V5",
    username: "bob",
    name: "bob's key",
    publicKey: "AAAA",
    counter: 0,
    transports: ["internal"],
    deviceType: "singleDevice",
    backedUp: false,
    createdAt: new Date().toISOString(),
    lastUsedAt: null,
  });
});
afterAll(async () => {
  await t?.close();
});

describe("passkeys: refusals", () => {
  it("refuses every passkey endpoint of one's own without a token (403), before reading the body", async () => {
    for (const [method, path] of [
      ["POST", "/v1/auth/passkey/register/begin"],
      ["POST", "/v1/auth/passkey/register/finish"],
      ["GET", "/v1/auth/passkey/credentials"],
      ["POST", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5"],
      ["DELETE", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5"],
      ["POST", "/v1/auth/passkey/step-up/begin"],
      ["DELETE", "/v1/auth/userpass/users/bob/passkeys"],
    ] as const) {
      const answer = await t.call(method, path, { body: method === "POST" ? { junk: 1 } : undefined });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(answer.json.code).toBe("PERMISSION_DENIED");
    }
  });

  it("tells a machine token (no person) that passkeys and step-ups are a person's, with a clear 403", async () => {
    const begin = await t.call("POST", "/v1/auth/passkey/register/begin", {
      token: root,
      body: {},
      headers: asLocalhost,
    });
    expect(begin.status).toBe(403);
    expect(begin.json.errors[0]).toContain("passkeys belong to people; this token has no person");
    const stepUp = await t.call("POST", "/v1/auth/passkey/step-up/begin", {
      token: root,
      body: { action: "totp.code.read", target: "aws-prod-root" },
      headers: asLocalhost,
    });
    expect(stepUp.status).toBe(403);
    expect(stepUp.json.errors[0]).toContain("only a person with a passkey can give");
    expect(stepUp.json.errors[0]).toContain("machine token");
    const entries = (
      await t.call("GET", "/v1/audit?action=people.passkey.step-up&outcome=denied", { token: root })
    ).json.data.entries;
    expect(entries.at(-1)).toMatchObject({
      target: "aws-prod-root",
      details: { problem: "a token without a person" },
    });
  });

  it("lets nobody rename or remove someone else's passkey: 404 as if it did not exist, audited, nothing changed", async () => {
    const rename = await t.call("POST", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5", {
      token: alice,
      body: { name: "mine now" },
    });
    expect(rename.status).toBe(404);
    const remove = await t.call("DELETE", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5", { token: alice });
    expect(remove.status).toBe(404);
    expect((await t.call("GET", "/v1/auth/passkey/credentials", { token: bob })).json.data.passkeys).toEqual([
      expect.objectContaining({ id: "Ym9icy1wYXNza2V5", name: "bob's key" }),
    ]);
    expect(
      (await t.call("GET", "/v1/auth/passkey/credentials", { token: alice })).json.data.passkeys,
    ).toEqual([]);
    const failed = (await t.call("GET", "/v1/audit?action=people.passkey.remove", { token: root })).json.data
      .entries;
    expect(failed.at(-1)).toMatchObject({
      actor: "user:alice",
      outcome: "failed",
      details: { credential: "Ym9icy1wYXNza2V5" },
    });
  });

  it("answers bad bodies and ids with 400, never 5xx", async () => {
    const bad: [string, string, unknown][] = [
      ["POST", "/v1/auth/passkey/register/finish", {}],
      ["POST", "/v1/auth/passkey/register/finish", { credential: { id: "x" } }],
      [
        "POST",
        "/v1/auth/passkey/register/finish",
        {
          credential: {
            id: "AAAA",
            rawId: "AAAA",
            type: "public-key",
            response: { clientDataJSON: "e30", attestationObject: "oA" },
            clientExtensionResults: {},
          },
        },
      ],
      ["POST", "/v1/auth/passkey/credentials/not%20base64url", { name: "x" }],
      ["POST", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5", { name: "" }],
      ["POST", "/v1/auth/passkey/credentials/Ym9icy1wYXNza2V5", { name: "line\nbreak" }],
      ["POST", "/v1/auth/passkey/step-up/begin", { action: "sys.seal", target: "x" }],
      ["POST", "/v1/auth/passkey/step-up/begin", { action: "totp.code.read", target: "../etc" }],
      ["POST", "/v1/auth/passkey/login/begin", {}],
    ];
    for (const [method, path, body] of bad) {
      const answer = await t.call(method, path, { token: alice, body, headers: asLocalhost });
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)}: ${answer.text}`).toBe(400);
      expect(answer.json.code).toBe("BAD_INPUT");
    }
    // A step-up header that is not an assertion is a 400 too, not a crash.
    for (const header of [
      "%%%",
      Buffer.from("not json").toString("base64url"),
      Buffer.from("{}").toString("base64url"),
    ]) {
      const read = await t.call("GET", "/v1/totp/code/anything", {
        token: alice,
        headers: { ...asLocalhost, "X-Breakglass-Step-Up": header },
      });
      expect(read.status, read.text).toBeLessThan(500);
    }
  });

  it("refuses a code read under step_up without an assertion (STEP_UP_REQUIRED), and a machine token with the reason why", async () => {
    await t.call("POST", "/v1/totp/keys/guarded", {
      token: root,
      body: { key: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
    });
    await t.call("PUT", "/v1/totp/access/guarded", {
      token: root,
      body: { readers: ["user:alice"], step_up: true },
    });
    const without = await t.call("GET", "/v1/totp/code/guarded", { token: alice });
    expect(without).toMatchObject({ status: 403, json: { code: "STEP_UP_REQUIRED" } });
    expect(without.text).not.toMatch(/"code":"\d+"/);
    const machine = await t.call("GET", "/v1/totp/code/guarded", { token: root });
    expect(machine).toMatchObject({ status: 403, json: { code: "PERMISSION_DENIED" } });
    expect(machine.json.errors[0]).toContain("a token without a person (a machine token) cannot perform it");
    const junk = await t.call("GET", "/v1/totp/code/guarded", {
      token: alice,
      headers: { "X-Breakglass-Step-Up": Buffer.from(JSON.stringify({ id: "x" })).toString("base64url") },
    });
    expect(junk).toMatchObject({ status: 400, json: { code: "BAD_INPUT" } });
    const denied = (await t.call("GET", "/v1/audit?action=totp.code.read&outcome=denied", { token: root }))
      .json.data.entries;
    expect(denied.map((e: { details: { problem: string } }) => e.details.problem)).toEqual([
      "no passkey step-up given",
      "step-up asked of a token without a person",
    ]);
  });

  it("says how to set passkeys up when the server has no passkey_origin and is not asked as localhost", async () => {
    const bare = await startTestServer();
    try {
      await initAndUnseal(bare);
      const answer = await bare.call("POST", "/v1/auth/passkey/login/begin", { body: { username: "alice" } });
      expect(answer.status).toBe(400);
      expect(answer.json.errors[0]).toContain("set passkey_origin");
    } finally {
      await bare.close();
    }
  });

  it("names the configured origin's host as the relying party", async () => {
    const answer = await t.call("POST", "/v1/auth/passkey/register/begin", { token: alice, body: {} });
    expect(answer.json.data.rp).toEqual({ id: "breakglass.example.com", name: "breakglass" });
    expect(answer.json.data.authenticatorSelection).toMatchObject({ residentKey: "required" });
  });

  it("answers a login's options alike for a person with passkeys, one without and nobody: no oracle", async () => {
    const shapes = [];
    for (const username of ["bob", "alice", "nobody-at-all"]) {
      const answer = await t.call("POST", "/v1/auth/passkey/login/begin", {
        body: { username },
        headers: asLocalhost,
      });
      expect(answer.status).toBe(200);
      const { challenge, ...rest } = answer.json.data;
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      shapes.push(rest);
    }
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
    expect(shapes[0].allowCredentials ?? []).toEqual([]);
  });
});
