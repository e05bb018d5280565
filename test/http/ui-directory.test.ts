import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { openRawDatabase } from "../support/storage.js";

/** What the web UI reads beside Vault's API: the credentials a person may read, and a chain check. */

let t: TestServer;
let root: string;
const tokenOf: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  for (const [name, issuer] of [
    ["aws-prod-root", "AWS"],
    ["registrar", "Gandi"],
    ["bank", "Bank"],
  ] as const)
    await t.call("POST", `/v1/totp/keys/${name}`, {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)), issuer, account_name: `${name}@acme.example` },
    });
  for (const name of ["alice", "bob"]) {
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      token: root,
      body: { password: `${name} has a long password` },
    });
    tokenOf[name] = (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name} has a long password` },
      })
    ).json.auth.client_token;
  }
  await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice"] } });
  await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    token: root,
    body: { readers: ["group:oncall"], approvers: ["user:bob"], approvals_required: 1, require_reason: true },
  });
  await t.call("PUT", "/v1/totp/access/registrar", {
    token: root,
    body: { readers: ["user:alice", "user:bob"] },
  });
});
afterAll(async () => {
  await t.close();
});

const listed = async (token: string) =>
  (await t.call("GET", "/v1/ui/credentials", { token })).json.data.credentials;

describe("GET /v1/ui/credentials", () => {
  it("lists only what each person may read, with what reading it takes", async () => {
    expect(await listed(tokenOf.alice as string)).toEqual([
      {
        name: "aws-prod-root",
        issuer: "AWS",
        account_name: "aws-prod-root@acme.example",
        readers: ["group:oncall"],
        approvers: ["user:bob"],
        approvals_required: 1,
        require_reason: true,
        step_up: false,
      },
      expect.objectContaining({ name: "registrar", approvals_required: 0, require_reason: false }),
    ]);
    expect((await listed(tokenOf.bob as string)).map((c: { name: string }) => c.name)).toEqual(["registrar"]);
  });

  it("shows an admin every credential, and nobody anyone's own second factor", async () => {
    await t.call("POST", "/v1/auth/userpass/mfa", { token: tokenOf.bob });
    const names = (await listed(root)).map((c: { name: string }) => c.name);
    expect(names).toEqual(["aws-prod-root", "bank", "registrar"]);
  });

  it("says whether a rule names the caller among the approvers, so the UI can point them to Approvals", async () => {
    const approver = async (token: string) =>
      (await t.call("GET", "/v1/ui/credentials", { token })).json.data.approver;
    expect(await approver(tokenOf.bob as string)).toBe(true);
    expect(await approver(tokenOf.alice as string)).toBe(false);
    expect(await approver(root)).toBe(false);
  });

  it("needs a token", async () => {
    expect((await t.call("GET", "/v1/ui/credentials")).status).toBe(403);
  });
});

describe("GET /v1/audit/verify", () => {
  it("says the chain is intact, then names the entry someone edited in the database", async () => {
    const intact = (await t.call("GET", "/v1/audit/verify", { token: root })).json.data;
    expect(intact).toMatchObject({ intact: true, problem: null });
    expect(intact.entries).toBeGreaterThan(10);
    expect((await t.call("GET", "/v1/audit/verify", { token: tokenOf.alice })).status).toBe(403);

    const db = await openRawDatabase(t.storage);
    try {
      await db.run("update audit_entries set reason = 'nothing to see' where seq = 5");
    } finally {
      await db.close();
    }
    const broken = (await t.call("GET", "/v1/audit/verify", { token: root })).json.data;
    expect(broken).toMatchObject({ intact: false, entries: 4, problem: { seq: 5 } });
    expect(broken.problem.problem).toMatch(/altered/);
  });
});

describe("the web UI's quiet answers (a 404 is an error in the browser's console)", () => {
  it("gives a browser session empty lists, a null mail server and a null rule, where API clients get 404", async () => {
    const opened = await t.call("POST", "/v1/ui/session", {
      body: { token: root },
      headers: { "content-type": "application/json" },
    });
    const cookie = (opened.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const browser = { headers: { cookie, "sec-fetch-site": "same-origin" } };
    expect((await t.call("GET", "/v1/notify/webhooks?list=true", browser)).json).toEqual({
      data: { keys: [] },
    });
    expect((await t.call("GET", "/v1/notify/webhooks?list=true", { token: root })).status).toBe(404);
    expect((await t.call("GET", "/v1/notify/smtp", browser)).json).toEqual({ data: null });
    expect((await t.call("GET", "/v1/notify/smtp", { token: root })).status).toBe(404);
    expect((await t.call("GET", "/v1/totp/access/bank", browser)).json).toEqual({ data: null });
    expect((await t.call("GET", "/v1/totp/access/bank", { token: root })).status).toBe(404);
    expect((await t.call("GET", "/v1/totp/access/registrar", browser)).json.data.readers).toEqual([
      "user:alice",
      "user:bob",
    ]);
  });

  it("DELETE /v1/totp/access/:name removes a rule: the readers it named lose the credential", async () => {
    expect((await t.call("DELETE", "/v1/totp/access/registrar", { token: tokenOf.alice })).status).toBe(403);
    expect((await t.call("DELETE", "/v1/totp/access/registrar", { token: root })).status).toBe(204);
    expect((await t.call("GET", "/v1/totp/access/registrar", { token: root })).status).toBe(404);
    expect((await t.call("DELETE", "/v1/totp/access/registrar", { token: root })).status).toBe(404);
    expect((await listed(tokenOf.bob as string)).map((c: { name: string }) => c.name)).toEqual([]);
    const audit = await t.call("GET", "/v1/audit?action=access.rule.delete&outcome=allowed", { token: root });
    expect(audit.json.data.entries).toHaveLength(1);
  });
});
