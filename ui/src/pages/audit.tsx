import { useEffect, useRef, useState } from "preact/hooks";
import { data } from "../api.js";
import { type AuditEntry, EntryDetail } from "../components/audit-entry.js";
import { Field, SelectField } from "../components/field.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";
import { Time } from "../components/time.js";

/** `GET /v1/audit/verify`. */
interface ChainCheck {
  intact: boolean;
  entries: number;
  signed_through: number | null;
  unsigned_tail: { from: number; to: number } | null;
  problem: { seq: number; problem: string } | null;
}

interface Filters {
  outcome: string;
  action: string;
  actor: string;
  target: string;
  reason: string;
  /** Dates (YYYY-MM-DD) in the reader's time zone, both inclusive. */
  since: string;
  until: string;
}

const NO_FILTERS: Filters = {
  outcome: "",
  action: "",
  actor: "",
  target: "",
  reason: "",
  since: "",
  until: "",
};
const PAGE_SIZE = 100;
const OUTCOMES = [
  { value: "", label: "Any" },
  { value: "allowed", label: "Allowed" },
  { value: "denied", label: "Denied" },
  { value: "failed", label: "Failed" },
] as const;

/** Local midnight of a YYYY-MM-DD date, `days` later, as the ISO time the server expects. */
function localMidnight(date: string, days = 0): string {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days).toISOString();
}

function filterQuery(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.outcome) query.set("outcome", filters.outcome);
  for (const field of ["action", "actor", "target"] as const) {
    const value = filters[field].trim();
    if (value) query.set(field, value);
  }
  if (filters.reason.trim()) query.set("q", filters.reason.trim());
  if (filters.since) query.set("since", localMidnight(filters.since));
  if (filters.until) query.set("until", localMidnight(filters.until, 1));
  return query;
}

function verdict(check: ChainCheck): string {
  if (!check.intact)
    return `Chain broken at entry #${check.problem?.seq ?? "?"}: ${check.problem?.problem ?? "no reason given"}`;
  const signed =
    check.signed_through !== null
      ? `signed through #${check.signed_through}`
      : "not yet signed by a checkpoint";
  const tail =
    check.unsigned_tail && check.signed_through !== null
      ? ` (#${check.unsigned_tail.from}–#${check.unsigned_tail.to} await the next signed checkpoint)`
      : "";
  return `Chain intact: ${check.entries} entries, ${signed}${tail}`;
}

/** The audit chain for auditors: filter, page through, open an entry, verify the chain, export. */
export function Audit(_props: { params: Record<string, string> }) {
  const [form, setForm] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [nextAfter, setNextAfter] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  const [check, setCheck] = useState<ChainCheck | null>(null);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<string | null>(null);
  /** Only the answer to the latest query counts; -1 once the page is gone. */
  const generation = useRef(0);
  const opener = useRef<HTMLElement | null>(null);

  const load = async (filters: Filters, after: number | null) => {
    const mine = ++generation.current;
    setLoading(true);
    const query = filterQuery(filters);
    query.set("limit", String(PAGE_SIZE));
    if (after !== null) query.set("after", String(after));
    try {
      const page = await data<{ entries: AuditEntry[]; next_after: number | null }>(
        "GET",
        `/v1/audit?${query}`,
      );
      if (mine !== generation.current) return;
      setEntries((before) => (after === null ? page.entries : [...(before ?? []), ...page.entries]));
      setNextAfter(page.next_after);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load(NO_FILTERS, null);
    return () => {
      generation.current = -1;
    };
  }, []);

  const apply = (filters: Filters) => {
    setApplied(filters);
    setSelected(null);
    void load(filters, null);
  };

  const verifyChain = async () => {
    setChecking(true);
    setCheckError(null);
    try {
      const result = await data<ChainCheck>("GET", "/v1/audit/verify");
      if (generation.current !== -1) setCheck(result);
    } catch (failure) {
      if (generation.current !== -1)
        setCheckError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      if (generation.current !== -1) setChecking(false);
    }
  };

  const open = (entry: AuditEntry) => {
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    setSelected(entry);
  };
  const close = () => {
    setSelected(null);
    opener.current?.focus();
  };

  const exportQuery = filterQuery(applied).toString();
  const set = (field: keyof Filters) => (value: string) =>
    setForm((current) => ({ ...current, [field]: value }));

  return (
    <Page
      title="Audit log"
      actions={
        <>
          <button type="button" class="button" disabled={checking} onClick={() => void verifyChain()}>
            Verify chain
          </button>
          <a
            class="button secondary"
            href={`/v1/audit/export${exportQuery ? `?${exportQuery}` : ""}`}
            download="breakglass-audit.jsonl"
          >
            Export
          </a>
        </>
      }
    >
      <div role="status" class="verify-status">
        {checking ? <p class="muted">Verifying the chain…</p> : null}
        {check && !checking ? (
          <p class={check.intact ? "notice notice-ok" : "notice notice-error"} data-testid="verify-result">
            {verdict(check)}
          </p>
        ) : null}
      </div>
      <ErrorNotice error={checkError} />

      <form
        class="audit-filters"
        aria-label="Filter entries"
        onSubmit={(event) => {
          event.preventDefault();
          apply(form);
        }}
      >
        <SelectField label="Outcome" value={form.outcome} options={OUTCOMES} onValue={set("outcome")} />
        <Field label="Action" value={form.action} onValue={set("action")} placeholder="totp.code.read" />
        <Field label="Actor" value={form.actor} onValue={set("actor")} placeholder="user:alice" />
        <Field
          label="Target"
          value={form.target}
          onValue={set("target")}
          placeholder="totp/keys/aws-prod-root"
        />
        <Field label="Reason contains" value={form.reason} onValue={set("reason")} />
        <Field label="Since" type="date" value={form.since} onValue={set("since")} />
        <Field label="Until" type="date" value={form.until} onValue={set("until")} hint="Inclusive" />
        <div class="actions audit-filter-actions">
          <button type="submit" class="button">
            Apply filters
          </button>
          <button
            type="button"
            class="button secondary"
            onClick={() => {
              setForm(NO_FILTERS);
              apply(NO_FILTERS);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p class="hint">
        Oldest first. Times in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}); dates
        filter from midnight to midnight there.
      </p>
      <ErrorNotice error={error} />

      <div class={selected ? "audit-body with-detail" : "audit-body"}>
        <div class="audit-entries">
          {entries === null ? (
            loading ? (
              <Loading />
            ) : null
          ) : entries.length === 0 ? (
            <p class="empty">No entries match.</p>
          ) : (
            <div class="table-scroll">
              <table class="stack-table audit-table">
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((entry) => (
                    <tr
                      key={entry.seq}
                      class={selected?.seq === entry.seq ? "clickable selected" : "clickable"}
                      onClick={() => open(entry)}
                    >
                      <td data-label="#">
                        <button
                          type="button"
                          class="link-button"
                          aria-label={`Entry #${entry.seq}: show every field`}
                          aria-expanded={selected?.seq === entry.seq}
                          onClick={(event) => {
                            event.stopPropagation();
                            open(entry);
                          }}
                        >
                          #{entry.seq}
                        </button>
                      </td>
                      <td data-label="Time">
                        <Time iso={entry.time} />
                      </td>
                      <td data-label="Actor">{entry.actor}</td>
                      <td data-label="Action">{entry.action}</td>
                      <td data-label="Target">{entry.target ?? "—"}</td>
                      <td data-label="Outcome">
                        <span class={`audit-outcome audit-outcome-${entry.outcome}`}>{entry.outcome}</span>
                      </td>
                      <td data-label="Reason">{entry.reason ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {entries && nextAfter !== null ? (
            <button
              type="button"
              class="button secondary load-more"
              disabled={loading}
              onClick={() => void load(applied, nextAfter)}
            >
              {loading ? "Loading…" : "Load more"}
            </button>
          ) : null}
        </div>
        {selected ? <EntryDetail entry={selected} onClose={close} /> : null}
      </div>
    </Page>
  );
}
