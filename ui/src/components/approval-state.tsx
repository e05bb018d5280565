import type { ComponentChildren } from "preact";
import { Time } from "./time.js";

/** A request to read a credential under the two-person rule (`/v1/approvals`). */
export interface ApprovalView {
  id: string;
  key: string;
  requester: string;
  reason: string;
  status: string;
  approvals_required: number;
  approvers: string[];
  votes: { approver: string; decision: string; comment: string | null; time: string }[];
  created_at: string;
  expires_at: string | null;
}

export function hasExpired(approval: ApprovalView): boolean {
  return approval.expires_at !== null && Date.parse(approval.expires_at) <= Date.now();
}

export function approvalsGiven(approval: ApprovalView): number {
  return approval.votes.filter((vote) => vote.decision === "approved").length;
}

/** Where a request for approval stands; the test id holds just the headline. */
export function ApprovalState({ approval }: { approval: ApprovalView }) {
  const denial = approval.votes.find((vote) => vote.decision === "denied");
  const approvers = approval.votes
    .filter((vote) => vote.decision === "approved")
    .map((vote) => vote.approver);
  let headline: string;
  let detail: ComponentChildren;
  if (approval.status === "pending") {
    headline = "Waiting for approval";
    detail = `${approvalsGiven(approval)} of ${approval.approvals_required} given${approval.approvers.length ? ` · approvers: ${approval.approvers.join(", ")}` : ""}. This page checks every 2 seconds.`;
  } else if (approval.status === "approved" && hasExpired(approval)) {
    headline = "Approval expired";
    detail = "Request a new one.";
  } else if (approval.status === "approved") {
    headline = "Approved";
    detail = (
      <>
        by {approvers.join(", ")}; valid until <Time iso={approval.expires_at} />
      </>
    );
  } else if (approval.status === "denied") {
    headline = "Denied";
    detail = denial ? `by ${denial.approver}${denial.comment ? `: “${denial.comment}”` : ""}` : null;
  } else {
    headline = approval.status;
    detail = null;
  }
  return (
    <div class={`notice approval-state approval-${approval.status}`} role="status">
      <p class="approval-headline" data-testid="approval-status">
        {headline}
      </p>
      {detail ? <p class="approval-detail">{detail}</p> : null}
    </div>
  );
}
