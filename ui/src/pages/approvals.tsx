import { useEffect, useState } from "preact/hooks";
import { data, messageOf } from "../api.js";
import { type ApprovalView, approvalsGiven, hasExpired, verdictText } from "../components/approval-state.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";
import { Time } from "../components/time.js";
import { useLoad } from "../hooks.js";
import { passkeyProblem, stepUpAssertion } from "../passkeys.js";
import { usePendingApprovals } from "../pending-approvals.js";
import { href } from "../router.js";

/** 'Approved by bob: “go ahead”', 'Expired (approved by bob)', 'Denied by bob: “use staging”', 'Waiting: 0 of 1 approvals'. */
function statusText(approval: ApprovalView): string {
  const verdict = verdictText(approval);
  if (hasExpired(approval)) return verdict ? `Expired (${verdict})` : "Expired";
  if (approval.status === "pending")
    return `Waiting: ${approvalsGiven(approval)} of ${approval.approvals_required} approvals${verdict ? ` (${verdict})` : ""}`;
  return verdict.charAt(0).toUpperCase() + verdict.slice(1);
}

const REFRESH_MS = 5000;

/** The approver's inbox, and the state of one's own requests; both refreshed every 5 s. */
export function Approvals(_props: { params: Record<string, string> }) {
  const inbox = useLoad(() => data<{ approvals: ApprovalView[] }>("GET", "/v1/approvals?status=pending"));
  const mine = useLoad(() => data<{ approvals: ApprovalView[] }>("GET", "/v1/approvals?mine=true"));
  const [said, setSaid] = useState("");
  const { reload: reloadInbox } = inbox;
  const { reload: reloadMine } = mine;
  const { refresh: refreshBadge } = usePendingApprovals();

  useEffect(() => {
    const timer = setInterval(() => {
      reloadInbox();
      reloadMine();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reloadInbox, reloadMine]);

  const decided = (approval: ApprovalView, decision: "approve" | "deny") => {
    setSaid(
      `${decision === "approve" ? "Approved" : "Denied"} ${approval.requester}'s request to read ${approval.key}` +
        (approval.status === "pending"
          ? ` (${approvalsGiven(approval)} of ${approval.approvals_required} so far)`
          : ""),
    );
    reloadInbox();
    reloadMine();
    refreshBadge();
  };

  const pending = inbox.value?.approvals ?? null;
  const own = mine.value
    ? [...mine.value.approvals].sort((a, b) => b.created_at.localeCompare(a.created_at))
    : null;

  return (
    <Page title="Approvals">
      <p class="muted" role="status">
        {said}
      </p>
      <section aria-labelledby="approvals-inbox">
        <h2 id="approvals-inbox">Waiting for your decision</h2>
        <ErrorNotice error={inbox.error} />
        {pending === null ? (
          inbox.loading ? (
            <Loading />
          ) : null
        ) : pending.length === 0 ? (
          <p class="empty">Nothing waits for your decision.</p>
        ) : (
          <div class="approval-list">
            {pending.map((approval) => (
              <Decision key={approval.id} approval={approval} onDecided={decided} />
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="approvals-mine">
        <h2 id="approvals-mine">My requests</h2>
        <ErrorNotice error={mine.error} />
        {own === null ? (
          mine.loading ? (
            <Loading />
          ) : null
        ) : own.length === 0 ? (
          <p class="empty">You have not asked for any approval.</p>
        ) : (
          <table class="stack-table">
            <thead>
              <tr>
                <th scope="col">Credential</th>
                <th scope="col">Reason</th>
                <th scope="col">Status</th>
                <th scope="col">Asked</th>
                <th scope="col">Valid until</th>
              </tr>
            </thead>
            <tbody>
              {own.map((approval) => (
                <tr key={approval.id}>
                  <td data-label="Credential">
                    <a {...href(`/credentials/${encodeURIComponent(approval.key)}`)}>{approval.key}</a>
                  </td>
                  <td data-label="Reason">{approval.reason}</td>
                  <td data-label="Status">{statusText(approval)}</td>
                  <td data-label="Asked">
                    <Time iso={approval.created_at} />
                  </td>
                  <td data-label="Valid until">
                    <Time iso={approval.expires_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}

function Decision(props: {
  approval: ApprovalView;
  onDecided: (approval: ApprovalView, decision: "approve" | "deny") => void;
}) {
  const { approval } = props;
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const headingId = `approval-${approval.id}`;

  const decide = async (decision: "approve" | "deny") => {
    setBusy(true);
    setError(null);
    try {
      const text = comment.trim();
      // The rule asks the approver to prove presence: a passkey touch bound to this request.
      const stepUp =
        decision === "approve" && approval.approver_step_up
          ? await stepUpAssertion("approval.approve", approval.id)
          : null;
      const view = await data<ApprovalView>(
        "POST",
        `/v1/approvals/${encodeURIComponent(approval.id)}/${decision}`,
        { ...(text ? { comment: text } : {}), ...(stepUp ? { step_up: stepUp } : {}) },
      );
      props.onDecided(view, decision);
    } catch (failure) {
      setError(passkeyProblem(failure) ?? messageOf(failure));
      setBusy(false);
    }
  };

  return (
    <article class="card approval-card" aria-labelledby={headingId}>
      <h3 id={headingId}>{approval.key}</h3>
      <dl class="facts">
        <dt>Requested by</dt>
        <dd>{approval.requester}</dd>
        <dt>Reason</dt>
        <dd>{approval.reason}</dd>
        <dt>Asked</dt>
        <dd>
          <Time iso={approval.created_at} />
        </dd>
        <dt>Approvals</dt>
        <dd>
          {approvalsGiven(approval)} of {approval.approvals_required} given
        </dd>
        {approval.approver_step_up ? (
          <>
            <dt>Presence</dt>
            <dd>Approving asks you to touch your passkey</dd>
          </>
        ) : null}
      </dl>
      <Field
        label="Comment (optional)"
        value={comment}
        onValue={setComment}
        maxLength={500}
        autocomplete="off"
      />
      <ErrorNotice error={error} />
      <div class="actions">
        <button type="button" class="button" disabled={busy} onClick={() => void decide("approve")}>
          Approve
        </button>
        <button type="button" class="button danger" disabled={busy} onClick={() => void decide("deny")}>
          Deny
        </button>
      </div>
    </article>
  );
}
