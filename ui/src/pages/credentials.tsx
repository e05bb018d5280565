import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { data } from "../api.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";
import { useLoad } from "../hooks.js";
import { APPROVALS_PATH, usePendingApprovals } from "../pending-approvals.js";
import { href, navigate } from "../router.js";
import { holds, useSession } from "../session.js";

/** A credential the session may read, and what reading it takes (`GET /v1/ui/credentials`). */
export interface CredentialEntry {
  name: string;
  issuer: string;
  account_name: string;
  readers: string[];
  approvers: string[];
  approvals_required: number;
  require_reason: boolean;
  /** Each read needs a passkey touch (the rule's step_up). */
  step_up: boolean;
}

/** The list, and whether an access rule names the person among the approvers of a read. */
interface Directory {
  credentials: CredentialEntry[];
  approver: boolean;
}

const loadDirectory = () => data<Directory>("GET", "/v1/ui/credentials");

export async function loadCredentials(): Promise<CredentialEntry[]> {
  return (await loadDirectory()).credentials;
}

/** "2 approvals from group:security", or "None". */
export function approvalSummary(entry: CredentialEntry): string {
  if (entry.approvals_required === 0) return "None";
  const count = `${entry.approvals_required} approval${entry.approvals_required === 1 ? "" : "s"}`;
  return entry.approvers.length ? `${count} from ${entry.approvers.join(", ")}` : count;
}

export function readersSummary(entry: CredentialEntry): string {
  return entry.readers.length ? entry.readers.join(", ") : "Admins only";
}

function matches(entry: CredentialEntry, words: string[]): boolean {
  const text = `${entry.name} ${entry.issuer} ${entry.account_name}`.toLowerCase();
  return words.every((word) => text.includes(word));
}

/** The home screen: every credential the session may read, searchable as one types. */
export function Credentials(_props: { params: Record<string, string> }) {
  const { session } = useSession();
  const directory = useLoad(loadDirectory);
  const list = { ...directory, value: directory.value?.credentials ?? null };
  const [search, setSearch] = useState("");
  const searchInput = useRef<HTMLInputElement>(null);
  // At 3 a.m. the first thing to do is type the credential's name.
  useEffect(() => searchInput.current?.focus(), []);
  const shown = useMemo(() => {
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    return (list.value ?? []).filter((entry) => matches(entry, words));
  }, [list.value, search]);

  const addLink = holds(session, []) ? (
    <a class="button secondary" {...href("/admin/credentials/new")}>
      Add a credential
    </a>
  ) : null;

  return (
    <Page title="Credentials" actions={addLink}>
      <form
        class="search"
        onSubmit={(event) => {
          event.preventDefault();
          const first = shown[0];
          if (first) navigate(`/credentials/${encodeURIComponent(first.name)}`);
        }}
      >
        <Field
          label="Search credentials"
          type="search"
          value={search}
          onValue={setSearch}
          hint="Name, issuer or account. Enter opens the first match."
          autocomplete="off"
          spellcheck={false}
          inputRef={searchInput}
        />
      </form>
      <ErrorNotice error={list.error} />
      {list.value === null ? (
        list.loading ? (
          <Loading />
        ) : null
      ) : list.value.length === 0 ? (
        directory.value?.approver ? (
          <ApproverOnly />
        ) : (
          <p class="empty">
            No credentials you may read yet. An admin adds credentials and the access rules that say who reads
            them.
          </p>
        )
      ) : (
        <>
          <p class="muted" aria-live="polite">
            {search
              ? `${shown.length} of ${list.value.length} credentials match`
              : `${list.value.length} credential${list.value.length === 1 ? "" : "s"}`}
          </p>
          {shown.length === 0 ? (
            <p class="empty">No credential matches “{search}”.</p>
          ) : (
            <table class="stack-table credential-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Issuer</th>
                  <th scope="col">Account</th>
                  <th scope="col">Who may read</th>
                  <th scope="col">Approval</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((entry) => (
                  <tr key={entry.name}>
                    <td data-label="Name">
                      <a class="credential-link" {...href(`/credentials/${encodeURIComponent(entry.name)}`)}>
                        {entry.name}
                      </a>
                    </td>
                    <td data-label="Issuer">{entry.issuer || "—"}</td>
                    <td data-label="Account">{entry.account_name || "—"}</td>
                    <td data-label="Who may read">{readersSummary(entry)}</td>
                    <td data-label="Approval">
                      {approvalSummary(entry)}
                      {entry.require_reason ? <span class="tag">Reason required</span> : null}
                      {entry.step_up ? <span class="tag">Passkey</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Page>
  );
}

/** An approver who reads nothing: their work is on the Approvals page. */
function ApproverOnly() {
  const { count } = usePendingApprovals();
  return (
    <p class="empty">
      You may not read any credential. You approve requests
      {count === null ? "" : `: ${count} pending`} → <a {...href(APPROVALS_PATH)}>Approvals</a>
    </p>
  );
}
