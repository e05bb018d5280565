import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  type AuditFields,
  canonicalJson,
  chainEntries,
  GENESIS_HASH,
  verifyChain,
} from "../../src/core/audit-chain.js";

const fields = (action: string, reason: string | null = null): AuditFields => ({
  time: "2026-11-28T03:00:00.000Z",
  actor: "token:abc",
  action,
  target: "totp/keys/aws-prod-root",
  outcome: "allowed",
  reason,
  request_id: "r-1",
  remote_addr: "127.0.0.1",
  user_agent: "curl/8",
  approval_ids: [],
  details: { step: 59429110 },
});

describe("the audit chain", () => {
  it("hashes SHA-256(prev_hash || canonical JSON) exactly as an auditor's own tools compute it", () => {
    const [entry] = chainEntries(null, [fields("totp.code.read", "INC-4411 billing lockout")]);
    if (!entry) throw new Error("no entry");
    // Canonical JSON written out by hand from the README: keys sorted, no whitespace.
    const canonical =
      '{"action":"totp.code.read","actor":"token:abc","approval_ids":[],"details":{"step":59429110},"outcome":"allowed",' +
      `"prev_hash":"${GENESIS_HASH}","reason":"INC-4411 billing lockout","remote_addr":"127.0.0.1","request_id":"r-1",` +
      '"seq":1,"target":"totp/keys/aws-prod-root","time":"2026-11-28T03:00:00.000Z","user_agent":"curl/8"}';
    const bySha256sum = execFileSync("sha256sum", {
      input: GENESIS_HASH + canonical,
      encoding: "utf8",
    }).split(" ")[0];
    expect(entry.hash).toBe(bySha256sum);
  });

  it("sorts keys at every depth and escapes strings as JSON", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x"y'], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,"x\\"y"]},"b":1}',
    );
  });

  it("links each entry to the one before and verifies", () => {
    const first = chainEntries(null, [fields("a"), fields("b")]);
    const second = chainEntries(first[1] ?? null, [fields("c")]);
    const all = [...first, ...second];
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all[2]?.prev_hash).toBe(all[1]?.hash);
    expect(verifyChain(all)).toMatchObject({ count: 3, firstProblem: null });
  });

  it("names the first edited entry", () => {
    const all = chainEntries(null, [fields("a"), fields("b"), fields("c")]);
    const edited = all.map((e) => (e.seq === 2 ? { ...e, reason: "nothing to see" } : e));
    expect(verifyChain(edited).firstProblem).toEqual({
      seq: 2,
      problem: expect.stringContaining("entry 2 was altered"),
    });
  });

  it("names a deleted entry", () => {
    const all = chainEntries(null, [fields("a"), fields("b"), fields("c")]);
    expect(verifyChain(all.filter((e) => e.seq !== 2)).firstProblem?.seq).toBe(2);
  });

  it("names an entry whose hashes were all recomputed after an edit but whose successor was not", () => {
    const all = chainEntries(null, [fields("a"), fields("b"), fields("c")]);
    const rewritten = chainEntries(all[0] ?? null, [{ ...fields("b"), reason: "rewritten" }])[0];
    expect(verifyChain([all[0], rewritten, all[2]].filter((e) => e !== undefined)).firstProblem).toEqual({
      seq: 3,
      problem: expect.stringContaining("does not link"),
    });
  });
});
