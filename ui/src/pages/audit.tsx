import { useState } from "preact/hooks";
import { listNames } from "../components/admin/vault-list.js";
import { EntryDetail } from "../components/audit-entry.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";
import { holds, useSession } from "../session.js";
import { EntriesTable } from "./audit/entries-table.js";
import { FilterForm } from "./audit/filter-form.js";
import { useAuditLog } from "./audit/use-audit-log.js";
import { useChainCheck, verdict } from "./audit/use-chain-check.js";

/** The audit chain for auditors: filter, page through, open an entry, verify the chain, export. */
export function Audit(_props: { params: Record<string, string> }) {
  const log = useAuditLog();
  const chain = useChainCheck();
  const { session } = useSession();
  // The actor's suggestions, once the field is used (a vault without people answers 404): people.read
  // is the admins'; an auditor types the name.
  const [people, setPeople] = useState<string[] | null>(null);
  const suggestPeople = () => {
    if (people !== null || !holds(session, [])) return;
    setPeople([]);
    listNames("/v1/auth/userpass/users").then(setPeople, () => {});
  };
  const { entries, selected } = log;
  const exportQuery = log.applied.toString();

  return (
    <Page
      title="Audit log"
      actions={
        <>
          <button type="button" class="button" disabled={chain.checking} onClick={() => void chain.verify()}>
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
        {chain.checking ? <p class="muted">Verifying the chain…</p> : null}
        {chain.check && !chain.checking ? (
          <p
            class={chain.check.intact ? "notice notice-ok" : "notice notice-error"}
            data-testid="verify-result"
          >
            {verdict(chain.check)}
          </p>
        ) : null}
      </div>
      <ErrorNotice error={chain.error} />

      <FilterForm onApply={log.apply} people={people ?? []} onActorFocus={suggestPeople} />
      <p class="hint">
        Newest first. Times in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}); dates
        filter from midnight to midnight there. Housekeeping (session look-ups, the log's own reads and
        checkpoints) is hidden unless shown.
      </p>
      <ErrorNotice error={log.error} />

      <div class={selected ? "audit-body with-detail" : "audit-body"}>
        <div class="audit-entries">
          {entries === null ? (
            log.loading ? (
              <Loading />
            ) : null
          ) : entries.length === 0 ? (
            <p class="empty">No entries match.</p>
          ) : (
            <EntriesTable entries={entries} selected={selected} onOpen={log.open} />
          )}
          {entries && log.hasMore ? (
            <button
              type="button"
              class="button secondary load-more"
              disabled={log.loading}
              onClick={log.loadMore}
            >
              {log.loading ? "Loading…" : "Load older entries"}
            </button>
          ) : null}
        </div>
        {selected ? <EntryDetail entry={selected} onClose={log.close} /> : null}
      </div>
    </Page>
  );
}
