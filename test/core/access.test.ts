import { describe, expect, it } from "vitest";
import {
  type AccessRule,
  checkAccessRule,
  decideApproval,
  decideCodeRead,
  type Reader,
} from "../../src/core/access.js";

const readers: Record<string, Reader> = {
  root: { owner: "token:root", principals: [], policies: ["root"] },
  admin: { owner: "user:erin", principals: ["user:erin", "group:admins"], policies: ["admin", "default"] },
  machine: { owner: "token:root", principals: [], policies: ["totp-reader"] },
  oncall: { owner: "user:alice", principals: ["user:alice", "group:oncall"], policies: ["default"] },
  named: { owner: "user:dave", principals: ["user:dave"], policies: ["default"] },
  outsider: { owner: "user:carol", principals: ["user:carol"], policies: ["default"] },
  auditor: {
    owner: "user:frank",
    principals: ["user:frank", "group:audit"],
    policies: ["auditor", "default"],
  },
  // dave before enabling the second factor an admin requires: his login matches no rule at all
  enrolling: { owner: "user:dave", principals: [], policies: ["mfa-enrolment"] },
  // a token erin made: it answers to erin but no rule names a machine token
  minted: { owner: "user:erin", principals: [], policies: ["default"] },
};

const rule = (overrides: Partial<AccessRule> = {}): AccessRule => ({
  readers: ["group:oncall", "user:dave"],
  approvers: ["group:security"],
  approvalsRequired: 0,
  requireReason: false,
  approvalTtlSeconds: 900,
  notify: [],
  stepUp: false,
  approverStepUp: false,
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
    enrolling: [false, false, false],
    minted: [false, false, false],
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
  const bob: Reader = {
    owner: "user:bob",
    principals: ["user:bob", "group:security"],
    policies: ["default"],
  };
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
    expect(
      decideApproval(readers.admin as Reader, "user:alice", rule({ approvalsRequired: 1 })).allowed,
    ).toBe(false);
    expect(
      decideApproval(readers.outsider as Reader, "user:alice", rule({ approvalsRequired: 1 })).allowed,
    ).toBe(false);
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
