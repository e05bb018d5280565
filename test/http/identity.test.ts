import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper, hexOfBase32 } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * Who a caller is, resolved in one place (issue 14): a person who must still enrol a second
 * factor matches no rule, even one that names them (finding 1); and every audit entry names the
 * person who answers for it, whichever of their tokens they used.
 */

let t: TestServer;
let root: string;
let deviceId: string;
const passwords = { frank: "frank has a long password", alice: "alice has a long password" };

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  for (const name of ["aws-prod-root", "registrar"])
    await t.call("POST", `/v1/totp/keys/${name}`, {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
  await t.call("PUT", "/v1/auth/userpass/users/frank", {
    token: root,
    body: { password: passwords.frank, require_mfa: true },
  });
  await t.call("PUT", "/v1/auth/userpass/users/alice", { token: root, body: { password: passwords.alice } });
  await t.call("PUT", "/v1/groups/admins", {
    token: root,
    body: { members: ["alice"], policies: ["admin"] },
  });
  await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    token: root,
    body: { readers: ["user:frank", "user:alice"], approvers: [], approvals_required: 0 },
  });
  const device = await t.call("POST", "/v1/devices", {
    token: root,
    body: {
      kind: "hardware-totp",
      serial: "SN-1",
      label: "AWS root token",
      protects: ["aws-prod-root"],
      location: "Safe A",
      custodian: "Dan",
      review_by: "2031-01-01",
      access_rule: "aws-prod-root",
    },
  });
  deviceId = device.json.data.id;
});
afterAll(async () => {
  await t.close();
});

const login = (name: keyof typeof passwords, totp?: string) =>
  t.call("POST", `/v1/auth/userpass/login/${name}`, {
    body: { password: passwords[name], ...(totp ? { totp } : {}) },
  });
const codeOf = (seedHex: string, offset = 0) =>
  oathtoolCode(seedHex, {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Date.now() / 1000 + offset,
  });

describe("a person an admin requires to enrol a second factor (finding 1)", () => {
  it("logged in with the password alone, reads nothing — not a credential whose rule names them, not the UI's list, not a device", async () => {
    const half = await login("frank");
    expect(half.json.auth.policies).toEqual(["mfa-enrolment"]);
    const token = half.json.auth.client_token;
    const code = await t.call("GET", "/v1/totp/code/aws-prod-root?reason=x", { token });
    expect(code.status).toBe(403);
    expect(code.json.errors[0]).toMatch(/enable your second factor first/);
    expect((await t.call("GET", "/v1/ui/credentials", { token })).status).toBe(403);
    expect(
      (await t.call("POST", `/v1/devices/${deviceId}/checkout`, { token, body: { reason: "x" } })).status,
    ).toBe(403);
    expect(
      (await t.call("POST", "/v1/approvals", { token, body: { key: "aws-prod-root", reason: "x" } })).status,
    ).toBe(403);
    const denial = (
      await t.call("GET", "/v1/audit?action=totp.code.read&outcome=denied", { token: root })
    ).json.data.entries.at(-1);
    expect(denial).toMatchObject({
      actor: "user:frank",
      details: { problem: "a second factor must be enabled first" },
    });
  });

  it("once the factor is enabled, logs in with its code and reads as the rule allows", async () => {
    const token = (await login("frank")).json.auth.client_token;
    const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} });
    const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
    const seedHex = hexOfBase32(secret);
    const confirm = await t.call("POST", "/v1/auth/userpass/mfa/confirm", {
      token,
      body: { code: codeOf(seedHex) },
    });
    expect(confirm.status).toBe(204);
    const full = await login("frank", codeOf(seedHex, 30));
    expect(full.json.auth.policies).toEqual(["default"]);
    expect(
      (await t.call("GET", "/v1/totp/code/aws-prod-root", { token: full.json.auth.client_token })).status,
    ).toBe(200);
  });
});

describe("validating a code (found by the attack review)", () => {
  it("is for those the credential's rule lets read it: a machine token it does not name learns nothing", async () => {
    const machine = (
      await t.call("POST", "/v1/auth/token/create", { token: root, body: { policies: ["totp-reader"] } })
    ).json.auth.client_token;
    const guess = (name: string) =>
      t.call("POST", `/v1/totp/code/${name}`, { token: machine, body: { code: "123456" } });
    const refused = await guess("aws-prod-root");
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toMatch(/not a reader of this credential/);
    expect((await guess("registrar")).json.data).toEqual({ valid: false }); // no rule: machine roles may
  });
});

describe("the person on every audit entry", () => {
  it("a code read by alice through her login, her browser session and a token she made is audited as user:alice, the token beside it", async () => {
    const loginAuth = (await login("alice")).json.auth;
    const session = await t.call("POST", "/v1/ui/session", {
      body: { username: "alice", password: passwords.alice },
      headers: { "content-type": "application/json", "sec-fetch-site": "same-origin" },
    });
    const cookie = /bg_session=([^;]+)/.exec(session.headers.get("set-cookie") ?? "")?.[1] as string;
    const minted = (
      await t.call("POST", "/v1/auth/token/create", {
        token: loginAuth.client_token,
        body: { policies: ["totp-reader"], display_name: "alice-ci" },
      })
    ).json.auth;
    const reads = [
      await t.call("GET", "/v1/totp/code/registrar?reason=login", { token: loginAuth.client_token }),
      await t.call("GET", "/v1/totp/code/registrar?reason=session", {
        headers: { cookie: `bg_session=${cookie}`, "sec-fetch-site": "same-origin" },
      }),
      await t.call("GET", "/v1/totp/code/registrar?reason=minted", { token: minted.client_token }),
    ];
    expect(reads.map((read) => read.status)).toEqual([200, 200, 200]);
    const entries = (await t.call("GET", "/v1/audit?actor=user:alice&action=totp.code.read", { token: root }))
      .json.data.entries;
    const byReason = Object.fromEntries(entries.map((e: { reason: string }) => [e.reason, e]));
    expect(byReason.login).toMatchObject({
      actor: "user:alice",
      token: loginAuth.accessor,
      token_name: "userpass-alice",
    });
    expect(byReason.session).toMatchObject({ actor: "user:alice", token_name: "userpass-alice" });
    expect(byReason.minted).toMatchObject({
      actor: "user:alice",
      token: minted.accessor,
      token_name: "token-alice-ci",
    });
    const logins = (
      await t.call("GET", "/v1/audit?actor=user:alice&action=auth.userpass.login", { token: root })
    ).json.data.entries;
    expect(logins.map((entry: { token: string }) => entry.token)).toContain(loginAuth.accessor);
  });

  it("an entry without a token has no token fields, and entries made before them verify unchanged", async () => {
    const anonymous = await t.call("GET", "/v1/totp/code/registrar");
    expect(anonymous.status).toBe(403);
    const entry = (await t.call("GET", "/v1/audit?actor=anonymous", { token: root })).json.data.entries.at(
      -1,
    );
    expect(entry).not.toHaveProperty("token");
    expect(entry).not.toHaveProperty("token_name");
    expect((await t.call("GET", "/v1/audit/verify", { token: root })).json.data).toMatchObject({
      intact: true,
    });
  });
});
