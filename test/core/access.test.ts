import { describe, expect, it } from "vitest";
import {
  type AccessRule,
  checkAccessRule,
  decideApproval,
  decideCodeRead,
  type Reader,
} from "../../src/core/access.js";

const readers: Record<string, Reader> = {
  root: { username: null, groups: [], policies: ["root"] },
  admin: { username: "erin", groups: ["admins"], policies: ["admin", "default"] },
  machine: { username: null, groups: [], policies: ["totp-reader"] },
  oncall: { username: "alice", groups: ["oncall"], policies: ["default"] },
  named: { username: "dave", groups: [], policies: ["default"] },
  outsider: { username: "carol", groups: [], policies: ["default"] },
  auditor: { username: "frank", groups: ["audit"], policies: ["auditor", "default"] },
};

const rule = (overrides: Partial<AccessRule> = {}): AccessRule => ({
  readers: ["group:oncall", "user:dave"],
  approvers: ["group:security"],
  approvalsRequired: 0,
  requireReason: false,
  approvalTtlSeconds: 900,
  notify: [],
  ...overrides,
});

describe("who may read a code", () => {
  const expected: Record<string, [boolean, boolean, boolean]> = {
    // [no rule, rule, rule with approvals]
    root: [true, true, true],
    admin: [true, true, true],
    machine: [true, false, false],
    oncall: [false, true, true],
    named: [false, true, true],
    outsider: [false, false, false],
    auditor: [false, false, false],
  };
  for (const [who, [noRule, withRule, withApprovals]] of Object.entries(expected)) {
    it(`${who}: ${noRule ? "reads" : "refused"} without a rule, ${withRule ? "reads" : "refused"} under a rule`, () => {
      expect(decideCodeRead(readers[who] as Reader, null).allowed).toBe(noRule);
      expect(decideCodeRead(readers[who] as Reader, rule()).allowed).toBe(withRule);
      expect(decideCodeRead(readers[who] as Reader, rule({ approvalsRequired: 1 })).allowed).toBe(
        withApprovals,
      );
    });
  }

  it("the rule's reason and approval terms hold for everyone it lets in, admins included", () => {
    for (const who of ["root", "admin", "oncall", "named"]) {
      expect(
        decideCodeRead(readers[who] as Reader, rule({ approvalsRequired: 2, requireReason: true })),
      ).toEqual({
        allowed: true,
        reasonRequired: true,
        approvalsRequired: 2,
      });
    }
  });

  it("says why a read is refused", () => {
    expect(decideCodeRead(readers.outsider as Reader, null)).toEqual({
      allowed: false,
      why: expect.stringContaining("only admins"),
    });
    expect(decideCodeRead(readers.outsider as Reader, rule())).toEqual({
      allowed: false,
      why: expect.stringContaining("not a reader"),
    });
  });
});

describe("who may approve", () => {
  const bob = { id: "user:bob", username: "bob", groups: ["security"], policies: ["default"] };
  it("a listed approver may approve someone else's request", () => {
    expect(decideApproval(bob, "user:alice", rule({ approvalsRequired: 1 }))).toEqual({ allowed: true });
  });
  it("nobody approves their own request, not even an approver", () => {
    expect(decideApproval(bob, "user:bob", rule({ approvalsRequired: 1 }))).toMatchObject({
      allowed: false,
      why: expect.stringContaining("own"),
    });
  });
  it("someone not listed may not, admins included", () => {
    const erin = { id: "user:erin", ...(readers.admin as Reader) };
    const carol = { id: "user:carol", ...(readers.outsider as Reader) };
    expect(decideApproval(erin, "user:alice", rule({ approvalsRequired: 1 })).allowed).toBe(false);
    expect(decideApproval(carol, "user:alice", rule({ approvalsRequired: 1 })).allowed).toBe(false);
  });
  it("a credential needing no approval has nothing to approve", () => {
    expect(decideApproval(bob, "user:alice", rule()).allowed).toBe(false);
    expect(decideApproval(bob, "user:alice", null).allowed).toBe(false);
  });
});

describe("access rules", () => {
  it.each([
    [{ readers: ["alice"] }, /not user:NAME or group:NAME/],
    [{ approvers: ["team:x"] }, /not user:NAME or group:NAME/],
    [{ approvalsRequired: 11 }, /approvals_required/],
    [{ approvalsRequired: 1, approvers: [] }, /no approvers/],
    [{ approvalTtlSeconds: 0 }, /approval_ttl/],
    [{ notify: ["sms"] }, /notify channel/],
  ])("refuse %o", (overrides, message) => {
    expect(() => checkAccessRule(rule(overrides as Partial<AccessRule>))).toThrow(message);
  });
  it("accept a sound rule", () => {
    expect(checkAccessRule(rule({ approvalsRequired: 1, notify: ["email", "webhook:slack"] }))).toBeTruthy();
  });
});
