import type { AccessRule } from "../../core/access.js";
import type { ErrorCode } from "../../core/errors.js";
import type { ApprovalRecord } from "../../store/store.js";
import type { Actor } from "../context.js";

/** The terms of a credential's use under its access rule: what is asked, granted or refused. */

/** How an approval can fail to release a use: each is a code the UI and the CLI act on. */
export type ApprovalRefusal = Extract<
  ErrorCode,
  "APPROVAL_REQUIRED" | "APPROVAL_EXPIRED" | "APPROVAL_NOT_USABLE"
>;

/** What to do without a usable approval; said in the UI too, so it names no HTTP path nor command. */
export const HOW_TO_GET_ONE =
  "request an approval with your reason; once approved, it is used for your reads";

/** An approval that releases a use: the approved reason applies, the approvers who count are recorded. */
export interface ApprovalRelease {
  reason: string;
  approval: { id: string; approvers: string[] };
}

/** Why the rule does not allow a use: what the log records, what the caller is told, and the code. */
export interface RuleRefusal {
  problem: string;
  message: string;
  code: Extract<ErrorCode, "PERMISSION_DENIED" | "REASON_REQUIRED" | ApprovalRefusal>;
}

/** How refusals name a use of a credential's rule, and what to do once approved. */
export interface RuleUse {
  /** "reading aws-prod-root" */
  what: string;
  /** The refusal when the rule requires a reason and none was given. */
  noReason: string;
}

/** A use the rule allowed: who asked, why, the rule, and the approval that released it when one was needed. */
export interface RuleGrant {
  reader: Actor;
  /** The reason the use is recorded with: the approved one when an approval released it. */
  reason: string | null;
  rule: AccessRule | null;
  approval: { id: string; approvers: string[] } | null;
}

/** The end of an approved request's use window: its stored end, or sooner when the rule's approval_ttl was shortened. */
export function usableUntil(approval: ApprovalRecord, rule: AccessRule): string {
  const approvedAt = Date.parse(approval.votes.at(-1)?.time ?? approval.createdAt);
  const until = Math.min(
    Date.parse(approval.expiresAt ?? approval.createdAt),
    approvedAt + rule.approvalTtlSeconds * 1000,
  );
  return new Date(until).toISOString();
}
