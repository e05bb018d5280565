import { useEffect } from "preact/hooks";
import { data, messageOf } from "../../api.js";
import { type ApprovalView, hasExpired } from "../../components/approval-state.js";

const APPROVAL_POLL_MS = 2000;

/** Asks the approvers for a read of `name`, for `reason` (they see it). */
export function requestApproval(name: string, reason: string): Promise<ApprovalView> {
  return data<ApprovalView>("POST", "/v1/approvals", { key: name, reason });
}

/** Someone asking for approval is told within 2 s, and sees the code as soon as it is approved. */
export function usePolledApproval(
  pendingId: string | null,
  onView: (view: ApprovalView) => void,
  onError: (message: string) => void,
): void {
  useEffect(() => {
    if (!pendingId) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const view = await data<ApprovalView>("GET", `/v1/approvals/${encodeURIComponent(pendingId)}`);
        if (!stopped) onView(view);
      } catch (failure) {
        if (!stopped) onError(messageOf(failure));
      } finally {
        if (!stopped) timer = setTimeout(poll, APPROVAL_POLL_MS);
      }
    };
    timer = setTimeout(poll, APPROVAL_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [pendingId]);
}

/** A request made earlier (before a reload, or from the CLI) is picked up rather than asked again. */
export function useEarlierRequest(
  name: string,
  needsApproval: boolean,
  onFound: (latest: ApprovalView) => void,
): void {
  useEffect(() => {
    if (!needsApproval) return;
    let current = true;
    data<{ approvals: ApprovalView[] }>("GET", "/v1/approvals?mine=true").then(
      ({ approvals }) => {
        const latest = latestStanding(approvals, name);
        if (current && latest) onFound(latest);
      },
      () => undefined, // only a convenience: the page works without it
    );
    return () => {
      current = false;
    };
  }, [needsApproval]);
}

/** The newest of one's requests for `name` that still stands: pending, or approved and not expired. */
function latestStanding(approvals: ApprovalView[], name: string): ApprovalView | undefined {
  return approvals
    .filter((a) => a.key === name && (a.status === "pending" || (a.status === "approved" && !hasExpired(a))))
    .sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
}
