import { type Static, Type } from "typebox";
import { oneOf } from "./fields.js";

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
      description: "expired: pending past approval_request_ttl_seconds, never decided",
    }),
  ),
  mine: Type.Optional(Type.Boolean()),
});
export type ApprovalListQuery = Static<typeof ApprovalListQuery>;

export const ApprovalDecisionBody = Type.Object({
  comment: Type.Optional(Type.String({ maxLength: 500, "x-text": "line" })),
});
export type ApprovalDecisionBody = Static<typeof ApprovalDecisionBody>;
