import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuditFields, chainEntries, verifyChain } from "../../src/core/audit-chain.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, RELEASED_CODE, startTestServer, type TestServer } from "../support/server.js";
import { holdAuditWrites, openRawDatabase, refuseAuditWrites } from "../support/storage.js";

let t: TestServer;
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS" },
  });
});
afterAll(async () => {
  await t.close();
});

const someFields: AuditFields = {
  time: new Date().toISOString(),
  actor: "x",
  action: "x",
  target: null,
  outcome: "allowed",
  reason: null,
  request_id: null,
  remote_addr: null,
  user_agent: null,
  approval_ids: [],
  details: {},
};

describe("a code read", () => {
  it("is committed to the audit file before the code is sent, with who, what, why and from where", async () => {
    const response = await t.call("GET", "/v1/totp/code/aws-prod-root?reason=INC-4411%20billing%20lockout", {
      token: root,
      headers: { "User-Agent": "oncall-laptop/1.0" },
    });
    expect(response.status).toBe(200);
    const requestId = (await fetch(`${t.server.url}/v1/sys/health`)).headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    // Read straight from the database through another connection: committed means visible there.
    const db = await openRawDatabase(t.storage);
    const [row] = await db.rows(
      "select * from audit_entries where action = 'totp.code.read' order by seq desc limit 1",
    );
    await db.close();
    expect(row).toMatchObject({
      target: "totp/keys/aws-prod-root",
      outcome: "allowed",
      reason: "INC-4411 billing lockout",
      remote_addr: "127.0.0.1",
      user_agent: "oncall-laptop/1.0",
    });
    expect(String(row?.actor)).toMatch(/^token:/);
    expect(JSON.parse(String(row?.details))).toEqual({ step: response.json.data.step });
  });

  it("fails closed: when the audit write fails the answer is 503 and holds no code, and service resumes after", async () => {
    const allowAuditWrites = await refuseAuditWrites(t.storage);
    try {
      const refused = await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root });
      expect(refused.status).toBe(503);
      expect(refused.json).toEqual({
        errors: [expect.stringContaining("audit log unavailable")],
        code: "AUDIT_UNAVAILABLE",
      });
      expect(refused.text).not.toMatch(RELEASED_CODE);
      expect(refused.text).not.toMatch(/\d{6}/);
    } finally {
      await allowAuditWrites();
    }
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
    const metrics = await t.call("GET", "/metrics");
    expect(metrics.text).toMatch(/breakglass_audit_commit_failures_total 1/);
  });

  it("shares a commit with concurrent reads (group commit), and every read has its own entry", async () => {
    const before = await auditCount();
    const batchesBefore = await commitCount();
    // The first commit waits behind another connection's lock, so reads arriving meanwhile must
    // be grouped (without the hold, a slow machine may finish each commit before the next read).
    const release = await holdAuditWrites(t.storage);
    const recorded = vi.spyOn(t.server.services.audit, "record");
    const reads = Promise.all(
      Array.from({ length: 32 }, () => t.call("GET", "/v1/totp/code/aws-prod-root", { token: root })),
    );
    // Every read has reached the audit log (and waits there behind the lock) before it is let go.
    const readsRecorded = () =>
      recorded.mock.calls.filter(([, record]) => record.action === "totp.code.read").length;
    await expect.poll(readsRecorded, { timeout: 10_000, interval: 50 }).toBe(32);
    recorded.mockRestore();
    await release();
    const responses = await reads;
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect((await auditCount()) - before).toBe(32 + 1); // the 32 reads and the audit read counting them
    expect((await commitCount()) - batchesBefore).toBeLessThan(32);
  });
});

describe("the chain", () => {
  it("never forks: when another writer appends behind this server's back, the chain goes on from the true head", async () => {
    await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root }); // the server now knows its head
    const db = await openRawDatabase(t.storage);
    const [head] = await db.rows<{ seq: number; hash: string }>(
      "select seq, hash from audit_entries order by seq desc limit 1",
    );
    const [foreign] = chainEntries({ seq: Number(head?.seq), hash: String(head?.hash) }, [
      { ...someFields, action: "external.write", actor: "another-process" },
    ]);
    if (!foreign) throw new Error("no entry");
    const columns =
      "seq, time, actor, action, target, outcome, reason, request_id, remote_addr, user_agent, approval_ids, details, prev_hash, hash";
    await db.run(`insert into audit_entries (${columns}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      foreign.seq,
      foreign.time,
      foreign.actor,
      foreign.action,
      foreign.target,
      foreign.outcome,
      foreign.reason,
      foreign.request_id,
      foreign.remote_addr,
      foreign.user_agent,
      "[]",
      "{}",
      foreign.prev_hash,
      foreign.hash,
    ]);
    await db.close();
    const next = await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root });
    if (t.storage.engine === "sqlite") {
      // The SQLite writer had linked it to the head it knew: refused, nothing released.
      expect(next.status).toBe(503);
      expect(next.text).not.toMatch(RELEASED_CODE);
    } else {
      expect(next.status).toBe(200); // the advisory lock made it read the true head
    }
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
    const entries = (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries;
    expect(verifyChain(entries)).toMatchObject({ count: entries.length, firstProblem: null });
    expect(entries.some((e: { action: string }) => e.action === "external.write")).toBe(true);
  });

  it("verifies end to end as served by the API, including entries of denied requests", async () => {
    await t.call("GET", "/v1/totp/code/aws-prod-root", { token: "bgs.not-a-token" });
    const entries = (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries;
    expect(entries.some((e: { outcome: string }) => e.outcome === "denied")).toBe(true);
    expect(verifyChain(entries)).toMatchObject({ count: entries.length, firstProblem: null });
  });

  it("is filtered by actor, action, target and time", async () => {
    const all = (
      await t.call("GET", "/v1/audit?action=totp.code.read&target=totp/keys/aws-prod-root", { token: root })
    ).json.data.entries;
    expect(all.length).toBeGreaterThan(30);
    expect(all.every((e: { action: string }) => e.action === "totp.code.read")).toBe(true);
    const future = await t.call("GET", "/v1/audit?since=2999-01-01T00:00:00Z", { token: root });
    expect(future.json.data.entries).toEqual([]);
    const anonymous = (await t.call("GET", "/v1/audit?actor=anonymous", { token: root })).json.data.entries;
    expect(anonymous.every((e: { actor: string }) => e.actor === "anonymous")).toBe(true);
  });

  it("exports as JSON lines that verify offline", async () => {
    const response = await fetch(`${t.server.url}/v1/audit/export`, { headers: { "X-Vault-Token": root } });
    expect(response.headers.get("content-type")).toMatch(/ndjson/);
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(verifyChain(lines).firstProblem).toBeNull();
  });
});

it("can be checked entry by entry with jq and sha256sum, as the README shows auditors", async () => {
  const text = await (
    await fetch(`${t.server.url}/v1/audit/export`, { headers: { "X-Vault-Token": root } })
  ).text();
  const lines = text.trim().split("\n");
  for (const line of [lines[0], lines[4], lines.at(-1)] as string[]) {
    const script = `printf '%s%s' "$(jq -r .prev_hash <<<"$LINE")" "$(jq -cS 'del(.hash)' <<<"$LINE")" | sha256sum`;
    const computed = execFileSync("bash", ["-c", script], {
      env: { ...process.env, LINE: line },
      encoding: "utf8",
    }).split(" ")[0];
    expect(computed).toBe(JSON.parse(line).hash);
  }
});

async function auditCount(): Promise<number> {
  return (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries.length;
}

async function commitCount(): Promise<number> {
  const text = (await t.call("GET", "/metrics")).text;
  return Number(text.match(/^breakglass_audit_transaction_entries_count (\d+)/m)?.[1]);
}
