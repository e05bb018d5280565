import { useEffect, useRef } from "preact/hooks";
import { Time } from "./time.js";

/** One entry of the audit chain, as `GET /v1/audit` gives it. */
export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  reason: string | null;
  request_id: string | null;
  remote_addr: string | null;
  user_agent: string | null;
  approval_ids: string[];
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
  /** The accessor and name of the token the request came with; absent without one. */
  token?: string;
  token_name?: string;
}

/** Who answers for an entry, as people say it: `alice` for user:alice, other actors as recorded. */
export function actorName(actor: string): string {
  return actor.startsWith("user:") ? actor.slice("user:".length) : actor;
}

function showValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Every field of one entry; Escape or Close goes back to the row. */
export function EntryDetail(props: { entry: AuditEntry; onClose: () => void }) {
  const { entry } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [entry.seq]);
  const details = Object.entries(entry.details ?? {});
  return (
    <aside
      class="card audit-detail"
      aria-labelledby="audit-detail-title"
      onKeyDown={(event) => {
        if (event.key === "Escape") props.onClose();
      }}
    >
      <div class="audit-detail-header">
        <h2 id="audit-detail-title" tabIndex={-1} ref={heading}>
          Entry #{entry.seq}
        </h2>
        <button type="button" class="button secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      <dl class="facts facts-stacked">
        <dt>Sequence</dt>
        <dd>{entry.seq}</dd>
        <dt>Time</dt>
        <dd>
          <Time iso={entry.time} />
          <br />
          <code>{entry.time}</code>
        </dd>
        <dt>Actor</dt>
        <dd>{entry.actor}</dd>
        <dt>Token</dt>
        <dd>
          {entry.token ? (
            <>
              {entry.token_name ?? "—"} <code>{entry.token}</code>
            </>
          ) : (
            "—"
          )}
        </dd>
        <dt>Action</dt>
        <dd>{entry.action}</dd>
        <dt>Target</dt>
        <dd>{showValue(entry.target)}</dd>
        <dt>Outcome</dt>
        <dd>
          <span class={`audit-outcome audit-outcome-${entry.outcome}`}>{entry.outcome}</span>
        </dd>
        <dt>Reason</dt>
        <dd class="audit-reason-full">{showValue(entry.reason)}</dd>
        <dt>Approvals</dt>
        <dd>{entry.approval_ids?.length ? entry.approval_ids.join(", ") : "—"}</dd>
        <dt>Request id</dt>
        <dd>
          <code>{showValue(entry.request_id)}</code>
        </dd>
        <dt>Remote address</dt>
        <dd>{showValue(entry.remote_addr)}</dd>
        <dt>User agent</dt>
        <dd>{showValue(entry.user_agent)}</dd>
        <dt>Details</dt>
        <dd>
          {details.length === 0 ? (
            "—"
          ) : (
            <dl class="facts details">
              {details.map(([key, value]) => (
                <div key={key} class="facts-row">
                  <dt>{key}</dt>
                  <dd>{showValue(value)}</dd>
                </div>
              ))}
            </dl>
          )}
        </dd>
        <dt>Previous hash</dt>
        <dd>
          <code class="hash">{entry.prev_hash}</code>
        </dd>
        <dt>Hash</dt>
        <dd>
          <code class="hash">{entry.hash}</code>
        </dd>
      </dl>
    </aside>
  );
}
