import { badInput } from "./errors.js";

/**
 * Who may read a credential's code, and on what terms: one pure decision, from the reader, the
 * credential's access rule (if any) and the request. No I/O; every branch has a test.
 */

export interface AccessRule {
  /** `user:NAME` or `group:NAME`. */
  readers: string[];
  approvers: string[];
  approvalsRequired: number;
  requireReason: boolean;
  approvalTtlSeconds: number;
  /** Channels told of each read: `webhook:NAME`, `email`. Empty: none beyond the defaults. */
  notify: string[];
  /** A code read needs a fresh passkey assertion bound to it (services/auth/step-up.ts). */
  stepUp: boolean;
  /** An approver's yes needs a fresh passkey assertion bound to that request. */
  approverStepUp: boolean;
}

/** Whoever asks, as a decision needs them: resolved once per request (services/tokens.ts). */
export interface Reader {
  /**
   * Who answers for the request: `user:NAME` for a person through any of their tokens (login,
   * browser session, a token they made), or `token:ACCESSOR` of the root token whose line it is.
   */
  owner: string;
  /**
   * What an access rule may name it as: `user:NAME` and `group:NAME` of each group a person is in
   * now. None for a machine token, nor for a person who must still enrol a second factor.
   */
  principals: string[];
  /** The roles it holds now. */
  policies: string[];
}

export type ReadDecision =
  | { allowed: true; reasonRequired: boolean; approvalsRequired: number }
  | { allowed: false; why: string };

export const DEFAULT_APPROVAL_TTL_SECONDS = 15 * 60;
const ADMIN_POLICIES = ["root", "admin"];
/** Coarse roles for machine tokens, kept for credentials that have no rule. */
const RULELESS_READER_POLICIES = ["totp-reader", "totp-admin"];
const PRINCIPAL = /^(user|group):[a-z0-9][a-z0-9._-]{0,63}$/;

export function isAdmin(reader: Reader): boolean {
  return reader.policies.some((policy) => ADMIN_POLICIES.includes(policy));
}

/** Whether `principal` (`user:NAME` / `group:NAME`) names this reader. */
export function principalMatches(principal: string, reader: Pick<Reader, "principals">): boolean {
  return reader.principals.includes(principal);
}

/**
 * Without a rule, only admins (and the coarse machine roles) read. With one, its readers and
 * admins do — and the rule's reason and approval terms hold for everyone, admins included.
 */
export function decideCodeRead(reader: Reader, rule: AccessRule | null): ReadDecision {
  if (!rule) {
    if (isAdmin(reader) || reader.policies.some((p) => RULELESS_READER_POLICIES.includes(p)))
      return { allowed: true, reasonRequired: false, approvalsRequired: 0 };
    return { allowed: false, why: "this credential has no access rule: only admins may read it" };
  }
  if (!isAdmin(reader) && !rule.readers.some((principal) => principalMatches(principal, reader)))
    return { allowed: false, why: "not a reader of this credential (see its access rule)" };
  return { allowed: true, reasonRequired: rule.requireReason, approvalsRequired: rule.approvalsRequired };
}

/**
 * Whether `approver` may approve a request of `requesterOwner` under `rule`: listed, and never a
 * request of their own — people are compared, so a token a person made counts as that person.
 */
export function decideApproval(
  approver: Reader,
  requesterOwner: string,
  rule: AccessRule | null,
): { allowed: true } | { allowed: false; why: string } {
  if (approver.owner === requesterOwner) return { allowed: false, why: "nobody approves their own request" };
  if (!rule || rule.approvalsRequired === 0)
    return { allowed: false, why: "this credential needs no approval" };
  if (!rule.approvers.some((principal) => principalMatches(principal, approver)))
    return { allowed: false, why: "not an approver of this credential (see its access rule)" };
  return { allowed: true };
}

export function checkAccessRule(rule: AccessRule): AccessRule {
  for (const principal of [...rule.readers, ...rule.approvers])
    if (!PRINCIPAL.test(principal)) throw badInput(`${principal} is not user:NAME or group:NAME`);
  if (!Number.isInteger(rule.approvalsRequired) || rule.approvalsRequired < 0 || rule.approvalsRequired > 10)
    throw badInput("approvals_required must be a whole number from 0 to 10");
  if (rule.approvalsRequired > 0 && rule.approvers.length === 0)
    throw badInput("approvals_required is more than 0 but no approvers are listed");
  if (
    !Number.isInteger(rule.approvalTtlSeconds) ||
    rule.approvalTtlSeconds < 1 ||
    rule.approvalTtlSeconds > 24 * 3600
  )
    throw badInput("approval_ttl must be from 1 second to 24 hours");
  for (const channel of rule.notify)
    if (!/^(webhook:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|email)$/.test(channel))
      throw badInput(`notify channel ${channel} is not webhook:NAME or email`);
  return rule;
}
