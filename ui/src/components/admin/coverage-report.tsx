import { useState } from "preact/hooks";
import { data } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { href } from "../../router.js";
import { SelectField } from "../field.js";
import { ErrorNotice, Loading } from "../page.js";
import { DueDates } from "./device-due.js";
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

const FLAG_NAMES: Record<string, { label: string; badge: string }> = {
  "no-factor": { label: "No factor", badge: "badge badge-danger" },
  "single-factor": { label: "Single factor", badge: "badge badge-warning" },
  "one-location": { label: "One location", badge: "badge badge-warning" },
  "all-due": { label: "All due", badge: "badge badge-warning" },
};

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
          <p aria-live="polite">
            {value.accounts.length} accounts, {value.flagged} flagged (due within {value.due_within_days}{" "}
            days).
          </p>
          {value.accounts.map((account) => (
            <CoverageAccount key={account.account} account={account} />
          ))}
        </>
      ) : null}
    </section>
  );
}

function CoverageAccount(props: { account: Account }) {
  const { account } = props;
  const about = [account.issuer, account.account_name].filter(Boolean).join(", ");
  return (
    <article class="coverage-account">
      <h3>
        {account.credential ? (
          <a {...href(`/credentials/${encodeURIComponent(account.credential)}`)}>{account.account}</a>
        ) : (
          account.account
        )}
        {about ? <span class="muted"> ({about})</span> : null}
      </h3>
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
              <strong>{factor.label}</strong> ({factor.kind}
              {factor.serial ? `, serial ${factor.serial}` : ""}), {factor.location}, {factor.status}
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
