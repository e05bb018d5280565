import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BreakglassError } from "../../src/core/errors.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Approvals are checked against the credential's rule as it is now (issue 14, finding 5), people
 * are compared so nobody approves a request of their own token (finding 6), requests expire, a
 * vote is on the record exactly when it is stored, and a store outage is an error, not a denial.
 */

let t: TestServer;
let root: string;
const people = ["alice", "bob", "dan", "erin", "gus", "hal"] as const;
type Person = (typeof people)[number];
const tokens = {} as Record<Person, string>;
const REQUEST_TTL_SECONDS = 2;

beforeAll(async () => {
  t = await startTestServer({ approvalRequestTtlSeconds: REQUEST_TTL_SECONDS });
  root = (await initAndUnseal(t)).rootToken;
  for (const name of people) {
    const password = `${name} has a long password`;
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, { token: root, body: { password } });
  }
  await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice"] } });
  await t.call("PUT", "/v1/groups/security", {
    token: root,
    body: { members: ["bob", "dan", "erin", "gus", "hal"] },
  });
  await t.call("PUT", "/v1/groups/admins", { token: root, body: { members: ["erin"], policies: ["admin"] } });
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
/** A fresh credential under its own rule: alice reads, security approves. */
async function credential(rule: Record<string, unknown> = {}): Promise<string> {
  const name = `cred-${++credentials}`;
  await t.call("POST", `/v1/totp/keys/${name}`, {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  await setRule(name, rule);
  return name;
}
const setRule = (name: string, rule: Record<string, unknown>) =>
  t.call("PUT", `/v1/totp/access/${name}`, {
    token: root,
    body: {
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      approval_ttl: "15m",
      ...rule,
    },
  });
const ask = async (name: string, token = tokens.alice, reason = "INC-1") => {
  const response = await t.call("POST", "/v1/approvals", { token, body: { key: name, reason } });
  expect(response.status, response.text).toBe(200);
  return response.json.data.id as string;
};
const vote = (id: string, who: Person | string, decision: "approve" | "deny" = "approve") =>
  t.call("POST", `/v1/approvals/${id}/${decision}`, {
    token: who in tokens ? tokens[who as Person] : who,
    body: {},
  });
const read = (name: string, id: string, token = tokens.alice) =>
  t.call("GET", `/v1/totp/code/${name}?approval=${id}`, { token });
/** Past this node's rule cache (1 s). */
const passRuleCache = () => t.clock.advance(1100);

describe("an approval, at every read, against the rule as it is now (finding 5)", () => {
  it("stops releasing codes when approvals_required is raised", async () => {
    const name = await credential();
    const id = await ask(name);
    expect((await vote(id, "bob")).json.data.status).toBe("approved");
    expect((await read(name, id)).status).toBe(200);
    await setRule(name, { approvals_required: 2 });
    passRuleCache();
    const refused = await read(name, id);
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toMatch(
      /no longer has enough approvals under the current rule \(1 of 2\)/,
    );
  });

  it("stops releasing codes when the approver leaves the approvers' group, or the group leaves the rule", async () => {
    const name = await credential();
    const id = await ask(name);
    await vote(id, "gus");
    expect((await read(name, id)).status).toBe(200);
    await t.call("PUT", "/v1/groups/security", {
      token: root,
      body: { members: ["bob", "dan", "erin", "hal"] },
    });
    expect((await read(name, id)).status).toBe(403);
    await t.call("PUT", "/v1/groups/security", {
      token: root,
      body: { members: ["bob", "dan", "erin", "gus", "hal"] },
    });
    expect((await read(name, id)).status).toBe(200);
    await setRule(name, { approvers: ["user:bob"] });
    passRuleCache();
    expect((await read(name, id)).status).toBe(403);
  });

  it("stops releasing codes once a shortened approval_ttl has passed", async () => {
    const name = await credential();
    const id = await ask(name);
    await vote(id, "bob");
    expect((await read(name, id)).status).toBe(200);
    await setRule(name, { approval_ttl: 1 });
    t.clock.advance(1200);
    const refused = await read(name, id);
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toMatch(/has expired/);
  });

  it("a request filed under one approval, when the rule moved to two, is approved only by the second", async () => {
    const name = await credential();
    const id = await ask(name);
    await setRule(name, { approvals_required: 2 });
    expect((await vote(id, "bob")).json.data).toMatchObject({ status: "pending", approvals_required: 2 });
    expect((await read(name, id)).status).toBe(403);
    expect((await vote(id, "dan")).json.data.status).toBe("approved");
    expect((await read(name, id)).status).toBe(200);
  });

  it("a read under an approval carries the approved reason; another reason is refused", async () => {
    const name = await credential({ require_reason: true });
    const id = await ask(name, tokens.alice, "INC-7 registrar lock");
    await vote(id, "bob");
    const other = await t.call("GET", `/v1/totp/code/${name}?approval=${id}&reason=curious`, {
      token: tokens.alice,
    });
    expect(other.status).toBe(403);
    expect((await read(name, id)).status).toBe(200);
    const entry = (
      await t.call("GET", `/v1/audit?action=totp.code.read&target=totp/keys/${name}&outcome=allowed`, {
        token: root,
      })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({ reason: "INC-7 registrar lock", approval_ids: [id] });
  });

  it("pending requests expire: no vote counts after approval_request_ttl_seconds, and they list as expired", async () => {
    const name = await credential();
    const id = await ask(name);
    t.clock.advance(REQUEST_TTL_SECONDS * 1000 + 200);
    const late = await vote(id, "bob");
    expect(late.status).toBe(400);
    expect(late.json.errors[0]).toMatch(/expired/);
    const pending = await t.call("GET", "/v1/approvals?status=pending", { token: tokens.bob });
    expect(pending.json.data.approvals.map((a: { id: string }) => a.id)).not.toContain(id);
    const mine = await t.call("GET", "/v1/approvals?mine=true&status=expired", { token: tokens.alice });
    expect(
      mine.json.data.approvals.map((a: { id: string; status: string }) => [a.id, a.status]),
    ).toContainEqual([id, "expired"]);
  });
});

describe("the two-person rule compares people (finding 6)", () => {
  it("erin cannot approve a request made by a token she made; someone else can, and the read is erin's", async () => {
    const name = await credential();
    const minted = (
      await t.call("POST", "/v1/auth/token/create", {
        token: tokens.erin,
        body: { policies: ["admin"], display_name: "erin-script" },
      })
    ).json.auth;
    const id = await ask(name, minted.client_token);
    const own = await vote(id, "erin");
    expect(own.status).toBe(403);
    expect(own.json.errors[0]).toMatch(/nobody approves their own request/);
    expect((await vote(id, "bob")).json.data.status).toBe("approved");
    expect((await read(name, id, minted.client_token)).status).toBe(200);
    const entry = (
      await t.call("GET", `/v1/audit?action=totp.code.read&target=totp/keys/${name}&outcome=allowed`, {
        token: root,
      })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({
      actor: "user:erin",
      token: minted.accessor,
      details: { approvers: "user:bob" },
    });
  });
});

describe("votes and the record", () => {
  it("concurrent votes: every vote on the record as counted was stored, and a lost one is recorded as not counted", async () => {
    const name = await credential();
    const id = await ask(name);
    const voters: Person[] = ["bob", "dan", "gus", "hal"];
    const answers = await Promise.all(voters.map((who) => vote(id, who)));
    const stored = (await t.call("GET", `/v1/approvals/${id}`, { token: root })).json.data.votes;
    expect(stored).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const entries = (
      await t.call("GET", `/v1/audit?action=approval.approve&target=approvals/${id}`, { token: root })
    ).json.data.entries;
    const allowed = entries.filter((e: { outcome: string }) => e.outcome === "allowed");
    expect(allowed.map((e: { actor: string }) => e.actor)).toEqual(
      stored.map((v: { approver: string }) => v.approver),
    );
    for (const answer of answers.filter((a) => a.status !== 200)) expect([400, 409]).toContain(answer.status);
  });

  it("a store that fails while an approval is checked answers 503 and records no denial", async () => {
    const name = await credential();
    const id = await ask(name);
    await vote(id, "bob");
    const approvals = t.server.services.store.approvals;
    const findApproval = approvals.findApproval;
    approvals.findApproval = async () => {
      throw new BreakglassError("STORE_UNAVAILABLE", "storage unavailable: injected by the test");
    };
    try {
      expect((await read(name, id)).status).toBe(503);
    } finally {
      approvals.findApproval = findApproval;
    }
    const denials = (
      await t.call("GET", `/v1/audit?action=totp.code.read&target=totp/keys/${name}&outcome=denied`, {
        token: root,
      })
    ).json.data.entries;
    expect(denials).toEqual([]);
    expect((await read(name, id)).status).toBe(200);
  });
});
