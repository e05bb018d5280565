import { type Static, Type } from "typebox";
import { oneOf } from "./fields.js";
import { PasskeyAssertion } from "./passkeys.js";

/** The two-person rule: request, list, approve or deny a read (approvals/*). */

export const APPROVAL_STATUSES = ["pending", "approved", "denied", "expired"] as const;

export const ApprovalIdParams = Type.Object({ id: Type.String({ maxLength: 64, "x-text": "line" }) });
export type ApprovalIdParams = Static<typeof ApprovalIdParams>;

export const ApprovalRequestBody = Type.Object({
  key: Type.String({ maxLength: 128 }),
  reason: Type.String({ minLength: 1, maxLength: 500, "x-text": "line" }),
});
export type ApprovalRequestBody = Static<typeof ApprovalRequestBody>;

export const ApprovalListQuery = Type.Object({
  status: Type.Optional(
    oneOf(APPROVAL_STATUSES, {
      description: "expired: pending past approval_request_ttl_seconds, or approved and past its use window",
    }),
  ),
  mine: Type.Optional(Type.Boolean()),
});
export type ApprovalListQuery = Static<typeof ApprovalListQuery>;

export const ApprovalDecisionBody = Type.Object({
  comment: Type.Optional(Type.String({ maxLength: 500, "x-text": "line" })),
  step_up: Type.Optional(
    Type.Unsafe<PasskeyAssertion>({
      ...PasskeyAssertion,
      description:
        "under a rule with approver_step_up: a passkey assertion for POST auth/passkey/step-up/begin {action: approval.approve, target: ID}",
    }),
  ),
});
export type ApprovalDecisionBody = Static<typeof ApprovalDecisionBody>;

export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** One approver's decision on a request: who (user:NAME), which, their comment, when. */
export interface ApprovalVoteAnswer {
  approver: string;
  decision: "approved" | "denied";
  comment: string | null;
  time: string;
}

/**
 * A request as every approvals route answers it (the CLI and the UI read this type). `expired`:
 * pending past approval_request_ttl_seconds, or approved and past its use window; `expires_at` is
 * the end of that window under the credential's rule as it is now.
 */
export interface ApprovalAnswer {
  id: string;
  key: string;
  requester: string;
  reason: string;
  status: ApprovalStatus;
  approvals_required: number;
  /** Who may approve: user:NAME or group:NAME. */
  approvers: string[];
  votes: ApprovalVoteAnswer[];
  created_at: string;
  expires_at: string | null;
  /** An approver's yes needs a passkey step-up bound to this request. */
  approver_step_up: boolean;
}
