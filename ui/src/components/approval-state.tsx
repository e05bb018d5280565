import type { ComponentChildren } from "preact";
import type { ApprovalAnswer } from "../../../src/api/approvals.js";

/** A request to read a credential under the two-person rule, as `/v1/approvals` answers it. */
export type ApprovalView = ApprovalAnswer;

/** Approved, but its use window has passed (the server says `expired` on its next answer). */
export function hasExpired(approval: ApprovalView): boolean {
  return (
    approval.status === "expired" ||
    (approval.expires_at !== null && Date.parse(approval.expires_at) <= Date.now())
  );
}

export function approvalsGiven(approval: ApprovalView): number {
  return approval.votes.filter((vote) => vote.decision === "approved").length;
}

/** 'approved by bob: “go ahead”' for each decision so far, joined by "; "; "" before any. */
export function verdictText(approval: ApprovalView): string {
  return approval.votes
    .map(
      (vote) =>
        `${vote.decision} by ${vote.approver.replace(/^user:/, "")}${vote.comment ? `: “${vote.comment}”` : ""}`,
    )
    .join("; ");
}

/** "usable for 12 more minutes", "usable for 40 more seconds". */
export function usableFor(expiresAt: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - now) / 1000));
  if (seconds < 90) return `usable for ${seconds} more second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.round(seconds / 60);
  return `usable for ${minutes} more minutes`;
}

/** Where a request for approval stands: who decided and what they said; the test id holds just the headline. */
export function ApprovalState({ approval }: { approval: ApprovalView }) {
  const verdict = verdictText(approval);
  let headline: string;
  let detail: ComponentChildren;
  if (approval.status === "pending") {
    headline = "Waiting for approval";
    detail = `${approvalsGiven(approval)} of ${approval.approvals_required} given${approval.approvers.length ? ` · approvers: ${approval.approvers.join(", ")}` : ""}. This page checks every 2 seconds.`;
  } else if (hasExpired(approval)) {
    headline = "Approval expired";
    detail = "Request a new one.";
  } else if (approval.status === "approved") {
    headline = "Approved";
    detail = approval.expires_at ? (
      <span title={new Date(approval.expires_at).toISOString()} data-testid="approval-window">
        {usableFor(approval.expires_at)}
      </span>
    ) : null;
  } else {
    headline = "Denied";
    detail = null;
  }
  return (
    <div class={`notice approval-state approval-${approval.status}`} role="status">
      <p class="approval-headline" data-testid="approval-status">
        {headline}
      </p>
      <p class="approval-detail">
        For: <q data-testid="approval-reason">{approval.reason}</q>
      </p>
      {verdict ? (
        <p class="approval-detail" data-testid="approval-verdict">
          {capitalised(verdict)}
        </p>
      ) : null}
      {detail ? <p class="approval-detail">{detail}</p> : null}
    </div>
  );
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
