import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * The auditor's morning (issue 18): the log newest first with a cursor back in time, housekeeping
 * left out on request, and the filters read the way people type them — `alice`, `totp`,
 * `aws-prod-root` — on either engine (BREAKGLASS_TEST_ENGINE=postgres runs this on PostgreSQL).
 */

interface Entry {
  seq: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  token_name?: string;
}
interface Page {
  entries: Entry[];
  next_after: number | null;
  next_before: number | null;
}

let t: TestServer;
let root: string;
let alice: string;
const password = "alice has a long password";

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  for (const name of ["aws-prod-root", "aws-prod-root-2", "gcp_prod-root", "gcp-prod-root"])
    await t.call("POST", `/v1/totp/keys/${name}`, {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
  await t.call("PUT", "/v1/auth/userpass/users/alice", { token: root, body: { password } });
  await t.call("PUT", "/v1/groups/oncall", {
    token: root,
    body: { members: ["alice"], policies: ["totp-reader"] },
  });
  const login = await t.call("POST", "/v1/auth/userpass/login/alice", { body: { password } });
  alice = login.json.auth.client_token;
  for (const reason of ["INC-1", "INC-2"])
    expect(
      (await t.call("GET", `/v1/totp/code/aws-prod-root?reason=${reason}`, { token: alice })).status,
    ).toBe(200);
  await t.call("GET", "/v1/auth/token/lookup-self", { token: alice });
  await t.call("GET", "/v1/auth/token/lookup-self", { token: "bgs.not-a-token" });
  expect((await t.call("GET", "/v1/audit/export", { token: root })).status).toBe(200); // signs a checkpoint
});
afterAll(async () => {
  await t?.close();
});

async function page(query: string): Promise<Page> {
  const response = await t.call("GET", `/v1/audit?${query}`, { token: root });
  expect(response.status, response.text).toBe(200);
  return response.json.data;
}

describe("GET /v1/audit order=newest", () => {
  it("gives the newest first and next_before, which pages back to the first entry without gap or overlap", async () => {
    const first = await page("order=newest&limit=5");
    expect(first.next_after).toBeNull();
    expect(first.entries.map((e) => e.seq)).toEqual(
      [...first.entries.map((e) => e.seq)].sort((a, b) => b - a),
    );
    const seen: number[] = [];
    let next: number | null = null;
    let current = first;
    for (;;) {
      seen.push(...current.entries.map((e) => e.seq));
      next = current.next_before;
      if (next === null) break;
      expect(next).toBe(current.entries.at(-1)?.seq);
      current = await page(`order=newest&limit=5&before=${next}`);
    }
    // The reads of the pages are themselves entries, newer than the first page: the rest is the log.
    const oldest = (await page("limit=100000")).entries.map((e) => e.seq);
    expect(seen.reverse()).toEqual(oldest.filter((seq) => seq <= (first.entries[0]?.seq ?? 0)));
  });

  it("stays oldest first by default, with next_after (existing clients page as before)", async () => {
    const answer = await page("limit=3");
    expect(answer.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(answer).toMatchObject({ next_after: 3, next_before: null });
  });
});

describe("GET /v1/audit housekeeping=false", () => {
  it("leaves out the allowed look-ups, audit reads and checkpoints, and keeps their refusals", async () => {
    const everything = (await page("limit=100000")).entries;
    const actions = (entries: Entry[]) => new Set(entries.map((e) => `${e.action} ${e.outcome}`));
    for (const noise of ["token.lookup-self allowed", "audit.read allowed", "audit.checkpoint allowed"])
      expect(actions(everything).has(noise), noise).toBe(true);
    const work = (await page("housekeeping=false&limit=100000")).entries;
    for (const noise of ["token.lookup-self allowed", "audit.read allowed", "audit.checkpoint allowed"])
      expect(actions(work).has(noise), noise).toBe(false);
    expect(actions(work).has("token.lookup-self denied")).toBe(true);
    expect(actions(work).has("totp.code.read allowed")).toBe(true);
    expect(work.length).toBeLessThan(everything.length);
  });

  it("refuses a housekeeping, order or before that is none (400, no 5xx)", async () => {
    for (const query of ["housekeeping=maybe", "order=sideways", "before=0", "before=x"]) {
      const response = await t.call("GET", `/v1/audit?${query}`, { token: root });
      expect(response.status, query).toBe(400);
    }
  });
});

describe("GET /v1/audit filters as people type them", () => {
  const codeReads = async (query: string) =>
    (await page(query)).entries.filter((e) => e.action === "totp.code.read").map((e) => e.target);

  it("actor=alice is user:alice", async () => {
    const byName = (await page("actor=alice")).entries;
    expect(byName.length).toBeGreaterThanOrEqual(3);
    expect(byName.every((e) => e.actor === "user:alice")).toBe(true);
    expect(byName).toEqual((await page("actor=user:alice")).entries);
    expect((await page("actor=anonymous")).entries.every((e) => e.actor === "anonymous")).toBe(true);
    expect((await page("actor=system")).entries.every((e) => e.actor === "system")).toBe(true);
  });

  it("action=totp finds totp and its dotted descendants, and nothing that merely starts so", async () => {
    const totp = new Set((await page("action=totp")).entries.map((e) => e.action));
    expect(totp).toEqual(new Set(["totp.key.write", "totp.code.read"]));
    expect(new Set((await page("action=totp.code")).entries.map((e) => e.action))).toEqual(
      new Set(["totp.code.read"]),
    );
    expect((await page("action=tot")).entries).toEqual([]);
    expect((await page("action=totp.code.read")).entries).toHaveLength(2);
  });

  it("target=aws-prod-root finds the targets ending in /aws-prod-root, exactly: no wildcard, no case folding", async () => {
    expect(await codeReads("target=aws-prod-root")).toEqual([
      "totp/keys/aws-prod-root",
      "totp/keys/aws-prod-root",
    ]);
    const written = async (target: string) =>
      (await page(`action=totp.key.write&target=${encodeURIComponent(target)}`)).entries.map((e) => e.target);
    expect(await written("aws-prod-root")).toEqual(["totp/keys/aws-prod-root"]);
    expect(await written("prod-root")).toEqual([]);
    expect(await written("AWS-PROD-ROOT")).toEqual([]);
    expect(await written("gcp%root")).toEqual([]);
    expect(await written("gcp_prod-root")).toEqual(["totp/keys/gcp_prod-root"]);
    expect(await written("gcp-prod-root")).toEqual(["totp/keys/gcp-prod-root"]);
    expect(await written("totp/keys/aws-prod-root")).toEqual(["totp/keys/aws-prod-root"]);
    expect(await written("keys/aws-prod-root")).toEqual([]);
  });
});

describe("the web UI's session read", () => {
  it("records no token.lookup-self, however often a page loads", async () => {
    const login = await t.call("POST", "/v1/ui/session", {
      body: { username: "alice", password },
      headers: { "Content-Type": "application/json" },
    });
    expect(login.status, login.text).toBe(200);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const lookups = async () => (await page("action=token.lookup-self&limit=100000")).entries.length;
    const before = await lookups();
    for (let load = 0; load < 5; load++) {
      const session = await t.call("GET", "/v1/ui/session", {
        headers: { Cookie: cookie, "Sec-Fetch-Site": "same-origin" },
      });
      expect(session.json.data).toMatchObject({ username: "alice" });
    }
    expect(await lookups()).toBe(before);
  });
});
