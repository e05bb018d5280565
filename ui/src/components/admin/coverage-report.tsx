import { useState } from "preact/hooks";
import { data } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { href } from "../../router.js";
import { SelectField } from "../field.js";
import { ErrorNotice, Loading } from "../page.js";
import { DueDates } from "./device-due.js";
import { KIND_LABELS, labelOf, STATUS_LABELS } from "./device-labels.js";
import type { DueReason } from "./device-types.js";

/** GET /v1/coverage: every protected account, its factors, and what could lock it out. */

interface Factor {
  kind: string;
  device_id: string | null;
  label: string;
  serial: string | null;
  location: string;
  status: string;
  due: DueReason[];
  usable: boolean;
}

interface Account {
  account: string;
  credential: string | null;
  /** Every credential of this issuer and account name: one virtual MFA each. */
  credentials: string[];
  issuer: string | null;
  account_name: string | null;
  factors: Factor[];
  flags: { flag: string; text: string }[];
}

interface Coverage {
  due_within_days: number;
  flagged: number;
  accounts: Account[];
}

/** Each flag's badge, and how the summary counts the accounts that have it. */
const FLAG_NAMES: Record<string, { label: string; badge: string; counted: string }> = {
  "no-factor": { label: "No factor", badge: "badge badge-danger", counted: "with no usable factor" },
  "single-factor": { label: "Single factor", badge: "badge badge-warning", counted: "with a single factor" },
  "one-location": {
    label: "One location",
    badge: "badge badge-warning",
    counted: "with every factor in one place",
  },
  "all-due": { label: "All due", badge: "badge badge-warning", counted: "with every factor due" },
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * What the report found, each kind counted apart: accounts per flag, then the devices due (a date
 * is not a flag of its own: one due device beside a good one locks nothing out).
 */
function summaryOf(coverage: Coverage): string[] {
  const flagged = Object.entries(FLAG_NAMES).flatMap(([flag, named]) => {
    const n = coverage.accounts.filter((account) => account.flags.some((f) => f.flag === flag)).length;
    return n > 0 ? [`${plural(n, "account", "accounts")} ${named.counted}`] : [];
  });
  const due = new Set(
    coverage.accounts.flatMap((account) =>
      account.factors
        .filter((factor) => factor.usable && factor.due.length > 0)
        .map((factor) => factor.device_id),
    ),
  );
  return [
    `${plural(coverage.accounts.length, "account", "accounts")}, ${coverage.accounts.length - coverage.flagged} covered`,
    ...flagged,
    `${plural(due.size, "device", "devices")} due within ${coverage.due_within_days} days`,
  ];
}

export const WINDOWS = [
  { value: "30d", label: "30 days" },
  { value: "60d", label: "60 days" },
  { value: "90d", label: "90 days" },
  { value: "180d", label: "180 days" },
  { value: "365d", label: "a year" },
];

/** `changes` counts the device changes made on the page: each one asks for the report again. */
export function CoverageReport(props: { changes: number }) {
  const [dueWithin, setDueWithin] = useState("30d");
  const report = useLoad(
    () => data<Coverage>("GET", `/v1/coverage?due_within=${dueWithin}`),
    [dueWithin, props.changes],
  );
  const value = report.value;
  return (
    <section aria-labelledby="coverage-heading">
      <h2 id="coverage-heading">Coverage</h2>
      <p class="hint">Each protected account, its second factors, and what could lock it out.</p>
      <div class="filters">
        <SelectField label="Coverage look-ahead" value={dueWithin} onValue={setDueWithin} options={WINDOWS} />
      </div>
      <ErrorNotice error={report.error} />
      {report.loading && !value ? <Loading /> : null}
      {value ? (
        <>
          <ul class="coverage-summary" aria-live="polite" data-testid="coverage-summary">
            {summaryOf(value).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <AccountList
            title="Needs attention"
            accounts={value.accounts.filter((account) => account.flags.length > 0)}
          />
          <AccountList
            title="Covered"
            accounts={value.accounts.filter((account) => account.flags.length === 0)}
          />
        </>
      ) : null}
    </section>
  );
}

function AccountList(props: { title: string; accounts: Account[] }) {
  if (props.accounts.length === 0) return null;
  return (
    <section class="coverage-group" aria-label={props.title}>
      <h3>
        {props.title} ({props.accounts.length})
      </h3>
      {props.accounts.map((account) => (
        <CoverageAccount key={account.account} account={account} />
      ))}
    </section>
  );
}

function CoverageAccount(props: { account: Account }) {
  const { account } = props;
  const held = account.credentials.length > 0;
  return (
    <article class="coverage-account">
      <h4>
        {account.issuer ? `${account.issuer}: ${account.account_name}` : account.account}
        {held ? null : <span class="muted"> (not in breakglass)</span>}
      </h4>
      {held ? (
        <p class="hint">
          {account.credentials.length === 1 ? "Credential " : "Credentials "}
          {account.credentials.map((name, index) => (
            <span key={name}>
              {index > 0 ? ", " : null}
              <a {...href(`/credentials/${encodeURIComponent(name)}`)}>{name}</a>
            </span>
          ))}
        </p>
      ) : null}
      {account.flags.length === 0 ? (
        <p>
          <span class="badge badge-ok">Covered</span>
        </p>
      ) : (
        <ul class="plain-list flags">
          {account.flags.map((flag) => {
            const named = FLAG_NAMES[flag.flag] ?? { label: flag.flag, badge: "badge badge-warning" };
            return (
              <li key={flag.flag}>
                <span class={named.badge}>{named.label}</span> {flag.text}
              </li>
            );
          })}
        </ul>
      )}
      {account.factors.length === 0 ? (
        <p class="muted">No factors recorded.</p>
      ) : (
        <ul class="factors">
          {account.factors.map((factor, index) => (
            <li key={factor.device_id ?? `virtual-${index}`}>
              <strong>{factor.label}</strong> ({labelOf(KIND_LABELS, factor.kind)}
              {factor.serial ? `, serial ${factor.serial}` : ""}){" "}
              {factor.device_id === null ? null : `${factor.location} · `}
              {labelOf(STATUS_LABELS, factor.status)}
              {factor.usable ? null : (
                <>
                  {" "}
                  <span class="badge badge-danger">not counted</span>
                </>
              )}
              {factor.due.length > 0 ? <DueDates reasons={factor.due} status={factor.status} /> : null}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
