import { createHmac, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { waitFor } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * The two-person rule, end to end over HTTP: alice (oncall) may read aws-prod-root with a reason
 * and one approval from security (bob); carol (no group) may not; the team is told by webhook and
 * by e-mail through real receivers.
 */

let t: TestServer;
let root: string;
let shares: string[];
const seed = randomBytes(20);
const tokens: Record<string, string> = {};
const hooks: { url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
const mails: string[] = [];
let webhookSecret: string;
let receiver: Server;
let smtp: SMTPServer;

async function listen(server: {
  listen: (port: number, host: string, done: () => void) => unknown;
  address: () => unknown;
}) {
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      hooks.push({ url: request.url ?? "", headers: request.headers, body });
      response.end("ok");
    });
  });
  const hookPort = await listen(receiver);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, _session, done) {
      let mail = "";
      stream.on("data", (chunk) => (mail += chunk));
      stream.on("end", () => {
        mails.push(mail);
        done();
      });
    },
  });
  await new Promise<void>((done) => smtp.listen(0, "127.0.0.1", done));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  t = await startTestServer();
  ({ rootToken: root, keys: shares } = await initAndUnseal(t));
  const as = (token: string) => ({ token });
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    ...as(root),
    body: { key: encodeBase32Upper(seed), issuer: "AWS" },
  });
  const people = {
    alice: "alice's long password",
    bob: "bob's long password!",
    carol: "carol's long password",
  };
  for (const [name, password] of Object.entries(people))
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      ...as(root),
      body: { password, email: `${name}@acme.example` },
    });
  await t.call("PUT", "/v1/groups/oncall", { ...as(root), body: { members: ["alice"] } });
  await t.call("PUT", "/v1/groups/security", { ...as(root), body: { members: ["bob"] } });
  const rule = await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    ...as(root),
    body: {
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      require_reason: true,
      approval_ttl: 3,
      notify: ["webhook:narrow"],
    },
  });
  expect(rule.status).toBe(200);
  const hook = await t.call("PUT", "/v1/notify/webhooks/team", {
    ...as(root),
    body: { url: `http://127.0.0.1:${hookPort}/hook`, events: "*" },
  });
  webhookSecret = hook.json.data.secret;
  // Subscribed to requests only; the credential's rule also sends it the reads.
  await t.call("PUT", "/v1/notify/webhooks/narrow", {
    ...as(root),
    body: {
      url: `http://127.0.0.1:${hookPort}/narrow`,
      events: ["approval.requested"],
      secret: webhookSecret,
    },
  });
  await t.call("PUT", "/v1/notify/smtp", {
    ...as(root),
    body: {
      host: "127.0.0.1",
      port: smtpPort,
      secure: false,
      from: "breakglass@acme.example",
      to: ["team@acme.example"],
    },
  });
  for (const [name, password] of Object.entries(people))
    tokens[name] = (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, { body: { password } })
    ).json.auth.client_token;
});
afterAll(async () => {
  await t.close();
  receiver?.close();
  smtp?.close();
});

const read = (who: string, query = "") =>
  t.call("GET", `/v1/totp/code/aws-prod-root${query}`, { token: tokens[who] });

describe("the two-person rule", () => {
  let approvalId: string;

  it("refuses carol (not a reader), alice without a reason, and alice without an approval, saying how to get one", async () => {
    expect((await read("carol", "?reason=curious")).status).toBe(403);
    const noReason = await read("alice");
    expect(noReason.status).toBe(400);
    expect(noReason.json.errors[0]).toMatch(/reason is required/);
    const noApproval = await read("alice", "?reason=INC-4411");
    expect(noApproval.status).toBe(403);
    expect(noApproval.json.errors[0]).toMatch(/needs 1 approval\(s\): request an approval with your reason/);
  });

  it("lets alice request an approval that she and carol cannot approve, and bob can", async () => {
    const requested = await t.call("POST", "/v1/approvals", {
      token: tokens.alice,
      body: { key: "aws-prod-root", reason: "INC-4411 billing lockout" },
    });
    expect(requested.status).toBe(200);
    approvalId = requested.json.data.id;
    expect(requested.json.data).toMatchObject({
      status: "pending",
      approvals_required: 1,
      approvers: ["group:security"],
    });
    expect(
      (
        await t.call("POST", "/v1/approvals", {
          token: tokens.carol,
          body: { key: "aws-prod-root", reason: "x" },
        })
      ).status,
    ).toBe(403);
    expect(
      (await t.call("POST", `/v1/approvals/${approvalId}/approve`, { token: tokens.alice, body: {} })).status,
    ).toBe(403);
    expect(
      (await t.call("POST", `/v1/approvals/${approvalId}/approve`, { token: tokens.carol, body: {} })).status,
    ).toBe(403);
    const pending = await t.call("GET", "/v1/approvals?status=pending", { token: tokens.bob });
    expect(pending.json.data.approvals.map((a: { id: string }) => a.id)).toContain(approvalId);
    expect(
      (await t.call("GET", "/v1/approvals?status=pending", { token: tokens.carol })).json.data.approvals,
    ).toEqual([]);
    const approved = await t.call("POST", `/v1/approvals/${approvalId}/approve`, {
      token: tokens.bob,
      body: { comment: "go ahead" },
    });
    expect(approved.json.data).toMatchObject({
      status: "approved",
      votes: [{ approver: "user:bob", decision: "approved", comment: "go ahead" }],
    });
    expect(
      (await t.call("POST", `/v1/approvals/${approvalId}/approve`, { token: tokens.bob, body: {} })).status,
    ).toBe(400);
  });

  it("gives alice the code with approval=ID, oathtool's, and the audit entry names the approver and the approved reason", async () => {
    const otherReason = await read("alice", `?reason=INC-9999&approval=${approvalId}`);
    expect(otherReason.status).toBe(403);
    expect(otherReason.json.errors[0]).toMatch(/was given for "INC-4411 billing lockout"/);
    const response = await read("alice", `?approval=${approvalId}`);
    expect(response.status).toBe(200);
    const data = response.json.data;
    expect(data.code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: data.valid_from,
      }),
    );
    expect((await read("carol", `?reason=x&approval=${approvalId}`)).status).toBe(403);
    const entry = (
      await t.call("GET", "/v1/audit?action=totp.code.read&outcome=allowed", { token: root })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({
      approval_ids: [approvalId],
      reason: "INC-4411 billing lockout",
      details: { approvers: "user:bob" },
    });
  });

  it("stops giving her the code once approval_ttl has passed", async () => {
    t.clock.advance(3200);
    const response = await read("alice", `?reason=INC-4411 billing lockout&approval=${approvalId}`);
    expect(response.status).toBe(403);
    expect(response.json.errors[0]).toMatch(/expired/);
  });

  it("told the team by webhook (signed) and by e-mail: the request and the read, naming alice", async () => {
    const typesAt = (url: string) =>
      hooks.filter((hook) => hook.url === url).map((hook) => JSON.parse(hook.body).event.type);
    await waitFor(
      "the webhooks and the mails of the request, the decision and the read",
      () =>
        ["approval.requested", "code.read"].every((type) => typesAt("/narrow").includes(type)) &&
        ["approval.requested", "approval.decided", "code.read"].every((type) =>
          typesAt("/hook").includes(type),
        ) &&
        mails.some((mail) => /asks to read aws-prod-root/.test(mail)) &&
        mails.some((mail) => /read the code of aws-prod-root/.test(mail)),
    );
    const narrow = hooks
      .filter((hook) => hook.url === "/narrow")
      .map((hook) => JSON.parse(hook.body).event.type);
    expect(narrow).toEqual(expect.arrayContaining(["approval.requested", "code.read"]));
    expect(narrow).not.toContain("approval.decided");
    const events = hooks.filter((hook) => hook.url === "/hook").map((hook) => JSON.parse(hook.body));
    const types = events.map((e) => e.event.type);
    expect(types).toEqual(expect.arrayContaining(["approval.requested", "approval.decided", "code.read"]));
    for (const event of events.filter((e) => ["approval.requested", "code.read"].includes(e.event.type)))
      expect(event.text).toContain("alice");
    for (const hook of hooks) {
      const expected = createHmac("sha256", webhookSecret)
        .update(`${hook.headers["x-breakglass-timestamp"]}.${hook.body}`)
        .digest("hex");
      expect(hook.headers["x-breakglass-signature"]).toBe(`sha256=${expected}`);
    }
    const requestMail = mails.find((mail) => /asks to read aws-prod-root/.test(mail));
    const readMail = mails.find((mail) => /read the code of aws-prod-root/.test(mail));
    expect(requestMail).toMatch(/alice/);
    expect(requestMail).toMatch(/bob@acme\.example/); // the approvers are e-mailed
    expect(readMail).toMatch(/alice/);
  });

  it("also tells of a lockout, a seal and an unseal", async () => {
    for (let i = 0; i < 5; i++)
      await t.call("POST", "/v1/auth/userpass/login/carol", {
        body: { password: `wrong guess number ${i}` },
      });
    await t.call("PUT", "/v1/sys/seal", { token: root });
    for (const key of shares.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    const told = () => hooks.map((hook) => JSON.parse(hook.body).event.type as string);
    await waitFor("the lockout, the seal and the unseal", () =>
      ["login.locked", "seal", "unseal"].every((x) => told().includes(x)),
    );
    const types = told();
    expect(types).toEqual(expect.arrayContaining(["login.locked", "seal", "unseal"]));
    const locked = hooks.map((hook) => JSON.parse(hook.body)).find((e) => e.event.type === "login.locked");
    expect(locked.text).toContain("user:carol");
  });
});
