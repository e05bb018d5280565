import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { storedBytes } from "../support/storage.js";

/** Users (Vault's userpass), groups and their roles, login with lockout. */

let t: TestServer;
let root: string;
const passwords = {
  alice: "correct horse battery staple",
  bob: "bob's long passphrase 42",
  carol: "carol-has-no-group-at-all",
};

beforeAll(async () => {
  t = await startTestServer({ captureLog: true });
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  for (const [username, password] of Object.entries(passwords))
    expect(
      (
        await t.call("PUT", `/v1/auth/userpass/users/${username}`, {
          token: root,
          body: { password, email: `${username}@acme.example` },
        })
      ).status,
    ).toBe(204);
  await t.call("PUT", "/v1/groups/oncall", {
    token: root,
    body: { members: ["alice"], policies: ["totp-reader"] },
  });
  await t.call("PUT", "/v1/groups/security", {
    token: root,
    body: { members: ["bob"], policies: ["auditor"] },
  });
});
afterAll(async () => {
  await t.close();
});

const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  t.call("POST", `/v1/auth/userpass/login/${username}`, { body: { password }, headers });

describe("users and groups", () => {
  it("a user shows her groups and roles, never her password", async () => {
    const alice = await t.call("GET", "/v1/auth/userpass/users/alice", { token: root });
    expect(alice.json.data).toMatchObject({
      username: "alice",
      groups: ["oncall"],
      email: "alice@acme.example",
      locked_until: null,
    });
    expect(alice.text).not.toContain(passwords.alice);
    expect(alice.text).not.toContain("argon2");
    expect(
      (await t.call("GET", "/v1/auth/userpass/users?list=true", { token: root })).json.data.keys,
    ).toEqual(["alice", "bob", "carol"]);
    expect((await t.call("GET", "/v1/groups?list=true", { token: root })).json.data.keys).toEqual([
      "oncall",
      "security",
    ]);
  });

  it("a password is stored as argon2id with at least OWASP's parameters (19 MiB, 2 passes), each with its own salt", async () => {
    const phc = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]{22})\$[A-Za-z0-9+/]{43}$/;
    const salts = new Set<string>();
    for (const username of Object.keys(passwords)) {
      const stored = (await t.server.services.store.findUser(username))?.passwordHash ?? "";
      const [, memory, passes, lanes, salt] = stored.match(phc) ?? [];
      expect(stored, username).toMatch(phc);
      expect(Number(memory)).toBeGreaterThanOrEqual(19_456);
      expect(Number(passes)).toBeGreaterThanOrEqual(2);
      expect(Number(lanes)).toBeGreaterThanOrEqual(1);
      salts.add(salt as string);
    }
    expect(salts.size).toBe(Object.keys(passwords).length);
  });

  it("setting a user's groups moves her between groups", async () => {
    await t.call("PUT", "/v1/auth/userpass/users/carol", { token: root, body: { groups: ["security"] } });
    expect((await t.call("GET", "/v1/groups/security", { token: root })).json.data.members).toEqual([
      "bob",
      "carol",
    ]);
    await t.call("PUT", "/v1/auth/userpass/users/carol", { token: root, body: { groups: [] } });
    expect((await t.call("GET", "/v1/groups/security", { token: root })).json.data.members).toEqual(["bob"]);
  });

  it.each([
    ["a short password", "/v1/auth/userpass/users/dave", { password: "short" }, /at least 12 characters/],
    [
      "no password on create",
      "/v1/auth/userpass/users/dave",
      { email: "d@acme.example" },
      /password is required/,
    ],
    [
      "an upper-case username",
      "/v1/auth/userpass/users/Dave",
      { password: "a long enough password" },
      /username must be/,
    ],
    [
      "an unknown group",
      "/v1/auth/userpass/users/dave",
      { password: "a long enough password", groups: ["nope"] },
      /no group named nope/,
    ],
    [
      "an unknown policy",
      "/v1/auth/userpass/users/dave",
      { password: "a long enough password", policies: ["god"] },
      /unknown policies: god/,
    ],
    [
      "a bad e-mail",
      "/v1/auth/userpass/users/dave",
      { password: "a long enough password", email: "not-mail" },
      /e-mail/,
    ],
    ["a group with an unknown member", "/v1/groups/finance", { members: ["nobody"] }, /no user named nobody/],
  ])("refuse %s with 400 and change nothing", async (_what, path, body, message) => {
    const response = await t.call("PUT", path, { token: root, body });
    expect(response.status).toBe(400);
    expect(response.json.errors[0]).toMatch(message);
    expect((await t.call("GET", "/v1/auth/userpass/users/dave", { token: root })).status).toBe(404);
    expect((await t.call("GET", "/v1/groups/finance", { token: root })).status).toBe(404);
  });

  it("only admins manage people: a member is refused, and the refusal is audited", async () => {
    const token = (await login("carol", passwords.carol)).json.auth.client_token;
    expect(
      (
        await t.call("PUT", "/v1/auth/userpass/users/mallory", {
          token,
          body: { password: "a long enough password" },
        })
      ).status,
    ).toBe(403);
    expect((await t.call("GET", "/v1/auth/userpass/users/alice", { token })).status).toBe(403);
    const denied = (await t.call("GET", "/v1/audit?action=people.user.write&outcome=denied", { token: root }))
      .json.data.entries;
    expect(denied.at(-1)).toMatchObject({ target: "auth/userpass/users/mallory" }); // refused at the door: the API path
  });
});

describe("login", () => {
  it("gives an expiring token with the roles of the user's groups", async () => {
    const response = await login("alice", passwords.alice);
    expect(response.status).toBe(200);
    const { client_token, policies, lease_duration, metadata } = response.json.auth;
    expect(policies).toEqual(["totp-reader", "default"]);
    expect(metadata).toEqual({ username: "alice" });
    expect(lease_duration).toBeGreaterThan(8 * 3600 - 60);
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: client_token })).status).toBe(200);
    expect(
      (
        await t.call("POST", "/v1/totp/keys/x", {
          token: client_token,
          body: { generate: true, issuer: "a", account_name: "b" },
        })
      ).status,
    ).toBe(403);
    const entry = (
      await t.call("GET", "/v1/audit?action=totp.code.read", { token: root })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({
      actor: "user:alice",
      token: response.json.auth.accessor,
      token_name: "userpass-alice",
    });
  });

  it("answers a wrong password and an unknown user alike, and audits both", async () => {
    const wrong = await login("bob", "not bob's password at all");
    const unknown = await login("zed", "whatever password here");
    expect([wrong.status, unknown.status]).toEqual([400, 400]);
    expect(wrong.json).toEqual(unknown.json);
    expect(wrong.json.errors).toEqual(["invalid username or password"]);
    const denied = (
      await t.call("GET", "/v1/audit?action=auth.userpass.login&outcome=denied", { token: root })
    ).json.data.entries;
    expect(denied.map((e: { target: string }) => e.target)).toEqual(
      expect.arrayContaining(["user:bob", "user:zed"]),
    );
    await login("bob", passwords.bob); // clears bob's failures
  });

  it("locks a user out after repeated failures: 20 wrong passwords, then the right one is refused, all audited", async () => {
    const headers = { "X-Forwarded-For": "203.0.113.9" }; // ignored: the address is the socket's
    const before = (
      await t.call("GET", "/v1/audit?action=auth.userpass.login&outcome=denied&limit=100000", { token: root })
    ).json.data.entries.length;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push((await login("bob", `wrong password number ${i}`, headers)).status);
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const right = await login("bob", passwords.bob);
    expect(right.status).toBe(429);
    expect(right.json.errors[0]).toMatch(
      /^too many failed logins for this user or address: try again in \d+ s$/,
    );
    // Retry-After says when the lockout ends, as the message does: at most the hour it grows to.
    const retryAfter = Number(right.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(right.json.errors[0]).toContain(`try again in ${retryAfter} s`);
    expect(right.text).not.toContain("client_token");
    const after = (
      await t.call("GET", "/v1/audit?action=auth.userpass.login&outcome=denied&limit=100000", { token: root })
    ).json.data.entries.length;
    expect(after - before).toBe(21);
    expect(
      (await t.call("GET", "/v1/auth/userpass/users/bob", { token: root })).json.data.locked_until,
    ).not.toBeNull();
  });

  it("a new password, or deleting the user, ends the user's tokens", async () => {
    const token = (await login("carol", passwords.carol)).json.auth.client_token;
    await t.call("PUT", "/v1/auth/userpass/users/carol", {
      token: root,
      body: { password: "carol's brand new password" },
    });
    expect((await t.call("GET", "/v1/auth/userpass/users/carol", { token })).status).toBe(403);
    const again = (await login("carol", "carol's brand new password")).json.auth.client_token;
    expect((await t.call("DELETE", "/v1/auth/userpass/users/carol", { token: root })).status).toBe(204);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: again })).status).toBe(403);
  });

  it("passwords and tokens appear in no log line and nowhere in what is stored", () => {
    const stored = storedBytes(t.storage);
    for (const password of Object.values(passwords)) {
      expect(t.log()).not.toContain(password);
      for (const { where, content } of stored)
        expect(content.includes(Buffer.from(password)), where).toBe(false);
    }
  });
});
