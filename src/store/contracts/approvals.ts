import type { AccessRule } from "../../core/access.js";
export interface ApprovalStore {
  findRule(keyName: string): Promise<AccessRuleRecord | null>;
  putRule(rule: AccessRuleRecord): Promise<void>;
  deleteRule(keyName: string): Promise<void>;
  insertApproval(approval: ApprovalRecord): Promise<void>;
  findApproval(id: string): Promise<ApprovalRecord | null>;
  /** Newest first, at most 1000; all statuses when null. */
  listApprovals(status: ApprovalRecord["status"] | null): Promise<ApprovalRecord[]>;
  /** Writes `next` only if the request is still as `previous` (no concurrent vote); false otherwise. */
  updateApproval(previous: ApprovalRecord, next: ApprovalRecord): Promise<boolean>;
}

/** A credential's access rule as stored: the rule (core/access.ts), whose credential, and when it last changed. */
export type AccessRuleRecord = AccessRule & { keyName: string; updatedAt: string };

export interface ApprovalVote {
  approver: string;
  decision: "approved" | "denied";
  comment: string | null;
  time: string;
}

export interface ApprovalRecord {
  id: string;
  keyName: string;
  /** `user:NAME` or `token:ACCESSOR`. */
  requester: string;
  reason: string;
  status: "pending" | "approved" | "denied";
  approvalsRequired: number;
  votes: ApprovalVote[];
  createdAt: string;
  /** When approved: reads are allowed until then. */
  expiresAt: string | null;
}
