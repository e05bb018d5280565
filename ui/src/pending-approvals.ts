import { createContext } from "preact";
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { call } from "./api.js";

/**
 * How many requests the signed-in person may decide: the navigation's badge and the credentials
 * page's pointer to Approvals. Listing approvals is audited only when refused
 * (core/audit-actions.ts, approval.list), so polling adds nothing to the chain.
 */
export interface PendingApprovals {
  /** Null until known, or when the count cannot be read (the Approvals page shows why). */
  count: number | null;
  /** Asks again now: after a decision, on arrival at another page. */
  refresh(): void;
}

/** The approver's inbox, whose navigation link shows the count. */
export const APPROVALS_PATH = "/approvals";

const POLL_MS = 30_000;

export const PendingApprovalsContext = createContext<PendingApprovals>({ count: null, refresh: () => {} });

export const usePendingApprovals = (): PendingApprovals => useContext(PendingApprovalsContext);

/**
 * Asks on arrival at each page (`path`), then every 30 s while the tab is visible and at once when
 * it becomes visible again; off for a session that cannot list approvals.
 */
export function usePendingApprovalCount(enabled: boolean, path: string): PendingApprovals {
  const [count, setCount] = useState<number | null>(null);
  const refresh = useCallback(() => {
    if (!enabled || document.visibilityState !== "visible") return;
    call<{ data: { approvals: unknown[] } }>("GET", "/v1/approvals?status=pending").then(
      (answer) => setCount(answer.body.data.approvals.length),
      () => setCount(null),
    );
  }, [enabled]);
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, POLL_MS);
    document.addEventListener("visibilitychange", refresh);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
    };
  }, [refresh, path]);
  return { count, refresh };
}
