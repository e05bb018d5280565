import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * A read without an approval id while the reader holds one (issue 18): exactly one usable approval
 * of theirs is used; several are named; a pending request is mentioned; another person's or an
 * expired one never counts. The refusals speak neither HTTP nor the CLI (the UI shows them too).
 */

let t: TestServer;
let root: string;
const people = ["alice", "carol", "bob"] as const;
type Person = (typeof people)[number];
const tokens = {} as Record<Person, string>;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  for (const name of people)
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      token: root,
      body: { password: `${name} has a long password` },
    });
  await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice", "carol"] } });
  await t.call("PUT", "/v1/groups/security", { token: root, body: { members: ["bob"] } });
  for (const name of people)
    tokens[name] = (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name} has a long password` },
      })
    ).json.auth.client_token;
});
afterAll(async () => {
  await t.close();
});

let credentials = 0;
/** A fresh credential: oncall reads with a reason and one approval from security, usable 15 minutes. */
async function credential(): Promise<string> {
  const name = `held-${++credentials}`;
  await t.call("POST", `/v1/totp/keys/${name}`, {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  await t.call("PUT", `/v1/totp/access/${name}`, {
    token: root,
    body: {
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      require_reason: true,
      approval_ttl: "15m",
    },
  });
  return name;
}
const ask = async (name: string, who: Person = "alice", reason = "INC-1") => {
  const response = await t.call("POST", "/v1/approvals", { token: tokens[who], body: { key: name, reason } });
  expect(response.status, response.text).toBe(200);
  return response.json.data.id as string;
};
const approve = async (id: string, comment?: string) => {
  const response = await t.call("POST", `/v1/approvals/${id}/approve`, {
    token: tokens.bob,
    body: comment ? { comment } : {},
  });
  expect(response.json.data.status).toBe("approved");
};
const read = (name: string, who: Person = "alice", query = "") =>
  t.call("GET", `/v1/totp/code/${name}${query}`, { token: tokens[who] });
const lastRead = async (name: string) =>
  (
    await t.call("GET", `/v1/audit?action=totp.code.read&target=totp/keys/${name}`, { token: root })
  ).json.data.entries.at(-1);

describe("a read without an approval id, while the reader holds approvals", () => {
  it("uses the one approved request, with its reason when none is given, and the record names it", async () => {
    const name = await credential();
    const id = await ask(name, "alice", "INC-7 registrar lock");
    await approve(id);
    const read1 = await read(name);
    expect(read1.status, read1.text).toBe(200);
    expect(await lastRead(name)).toMatchObject({
      outcome: "allowed",
      reason: "INC-7 registrar lock",
      approval_ids: [id],
      details: { approvers: "user:bob" },
    });
    expect((await read(name, "alice", "?reason=INC-7 registrar lock")).status).toBe(200);
  });

  it("does not use it for another reason", async () => {
    const name = await credential();
    await approve(await ask(name, "alice", "INC-8"));
    const other = await read(name, "alice", "?reason=curious");
    expect(other.status).toBe(403);
    expect(other.json.code).toBe("APPROVAL_REQUIRED");
  });

  it("refuses when several are usable, naming them", async () => {
    const name = await credential();
    const first = await ask(name);
    const second = await ask(name);
    await approve(first);
    await approve(second);
    const refused = await read(name);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe("APPROVAL_REQUIRED");
    expect(refused.json.errors[0]).toContain(first);
    expect(refused.json.errors[0]).toContain(second);
    expect((await read(name, "alice", `?approval=${first}`)).status).toBe(200);
  });

  it("refuses while the request is pending, saying so", async () => {
    const name = await credential();
    const id = await ask(name);
    const refused = await read(name, "alice", "?reason=INC-1");
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe("APPROVAL_REQUIRED");
    expect(refused.json.errors[0]).toContain(`your request ${id} is still pending`);
  });

  it("never uses another person's approval", async () => {
    const name = await credential();
    await approve(await ask(name, "alice"));
    const carol = await read(name, "carol", "?reason=INC-1");
    expect(carol.status).toBe(403);
    expect(carol.json.code).toBe("APPROVAL_REQUIRED");
    expect((await read(name, "carol")).json.code).toBe("REASON_REQUIRED");
  });

  it("does not use an expired one, which GET and the lists show as expired", async () => {
    const name = await credential();
    const id = await ask(name);
    await approve(id);
    t.clock.advance(15 * 60 * 1000 + 1000);
    const refused = await read(name, "alice", "?reason=INC-1");
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe("APPROVAL_REQUIRED");
    expect((await t.call("GET", `/v1/approvals/${id}`, { token: tokens.alice })).json.data.status).toBe(
      "expired",
    );
    const mine = await t.call("GET", "/v1/approvals?mine=true&status=expired", { token: tokens.alice });
    expect(mine.json.data.approvals.map((a: { id: string }) => a.id)).toContain(id);
    const approved = await t.call("GET", "/v1/approvals?mine=true&status=approved", { token: tokens.alice });
    expect(approved.json.data.approvals.map((a: { id: string }) => a.id)).not.toContain(id);
  });

  it("says how to get one in words that fit the UI and the CLI: no HTTP path, no command", async () => {
    const name = await credential();
    const refused = await read(name, "alice", "?reason=INC-1");
    expect(refused.json.errors[0]).toMatch(/needs 1 approval\(s\): request an approval with your reason/);
    expect(refused.json.errors[0]).not.toMatch(/\/v1\/|breakglass |\?approval/);
  });
});

describe("what a held approval cannot do", () => {
  it("given for another reason, it is named with that reason rather than asked for again", async () => {
    const name = await credential();
    const id = await ask(name, "alice", "INC-4411");
    await approve(id);
    const refused = await read(name, "alice", "?reason=other");
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe("APPROVAL_REQUIRED");
    expect(refused.json.errors[0]).toBe(
      `permission denied: approval ${id} was given for "INC-4411": use it with that reason (or none), or request a new one`,
    );
  });

  it("a person deleted and made again under the same name inherits none of the old one's approvals or votes", async () => {
    const name = await credential();
    const password = "dave has a long password";
    const makeDave = async () => {
      await t.call("PUT", "/v1/auth/userpass/users/dave", { token: root, body: { password } });
      await t.call("PUT", "/v1/groups/oncall", {
        token: root,
        body: { members: ["alice", "carol", "dave"] },
      });
      return (await t.call("POST", "/v1/auth/userpass/login/dave", { body: { password } })).json.auth
        .client_token as string;
    };
    const first = await makeDave();
    const asked = await t.call("POST", "/v1/approvals", {
      token: first,
      body: { key: name, reason: "INC-D" },
    });
    const id = asked.json.data.id as string;
    await approve(id);
    expect((await t.call("GET", `/v1/totp/code/${name}`, { token: first })).status).toBe(200);

    expect((await t.call("DELETE", "/v1/auth/userpass/users/dave", { token: root })).status).toBe(204);
    const second = await makeDave();
    for (const query of ["", `?approval=${id}`, "?reason=INC-D"]) {
      const refused = await t.call("GET", `/v1/totp/code/${name}${query}`, { token: second });
      expect(refused.status, query).toBe(403);
    }
    const named = await t.call("GET", `/v1/totp/code/${name}?approval=${id}`, { token: second });
    expect(named.json.errors[0]).toContain("was requested by an earlier person named user:dave");
  });
});

describe("the requester sees who decided and what they said", () => {
  it("GET and the list carry each vote's decider and comment, approved or denied", async () => {
    const name = await credential();
    const approved = await ask(name);
    await approve(approved, "go ahead");
    const denied = await ask(name, "alice", "INC-2");
    await t.call("POST", `/v1/approvals/${denied}/deny`, {
      token: tokens.bob,
      body: { comment: "use staging" },
    });
    expect(
      (await t.call("GET", `/v1/approvals/${approved}`, { token: tokens.alice })).json.data,
    ).toMatchObject({
      status: "approved",
      votes: [{ approver: "user:bob", decision: "approved", comment: "go ahead" }],
    });
    const mine = (await t.call("GET", "/v1/approvals?mine=true", { token: tokens.alice })).json.data
      .approvals;
    expect(mine.find((a: { id: string }) => a.id === denied)).toMatchObject({
      status: "denied",
      votes: [{ approver: "user:bob", decision: "denied", comment: "use staging" }],
    });
  });
});
