import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AuditFields,
  auditLine,
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

  it("writes lines and hashes as jq -cS does, for any field values (1,000 random entries)", () => {
    // jq escapes U+007F where JSON.stringify does not, and has no lone surrogates: both left out here.
    const text = fc.string({ unit: "grapheme", maxLength: 40 }).filter((t) => !t.includes("\u007f"));
    const orNull = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
    const randomFields: fc.Arbitrary<AuditFields> = fc.record(
      {
        time: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        actor: text,
        action: text,
        target: orNull(text),
        outcome: fc.constantFrom("allowed", "denied", "failed"),
        reason: orNull(text),
        request_id: orNull(text),
        remote_addr: orNull(text),
        user_agent: orNull(text),
        approval_ids: fc.array(text, { maxLength: 3 }),
        details: fc.dictionary(
          fc.stringMatching(/^[a-z_]{1,12}$/),
          fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)),
          { maxKeys: 5 },
        ),
        // Present only when the request came with a token (README: absent, not null, otherwise).
        token: text,
        token_name: text,
      },
      {
        requiredKeys: [
          "time",
          "actor",
          "action",
          "target",
          "outcome",
          "reason",
          "request_id",
          "remote_addr",
          "user_agent",
          "approval_ids",
          "details",
        ],
      },
    );
    const entries = chainEntries(null, fc.sample(randomFields, { numRuns: 1000, seed: 42 }));
    const lines = entries.map(auditLine);
    const jq = (filter: string) =>
      execFileSync("jq", ["-cS", filter], { input: lines.join("\n"), encoding: "utf8" })
        .trimEnd()
        .split("\n");
    expect(jq(".")).toEqual(lines);
    const rehashed = jq("del(.hash)").map((hashed, i) =>
      createHash("sha256")
        .update((entries[i]?.prev_hash ?? "") + hashed, "utf8")
        .digest("hex"),
    );
    expect(rehashed).toEqual(entries.map((entry) => entry.hash));
    expect(verifyChain(entries)).toMatchObject({ count: 1000, firstProblem: null });
  });
});
