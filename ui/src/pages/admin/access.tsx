import { useState } from "preact/hooks";
import { call } from "../../api.js";
import { type AccessRule, formatSeconds, type Known } from "../../components/admin/access-rule.js";
import { RuleEditor } from "../../components/admin/rule-editor.js";
import { listNames } from "../../components/admin/vault-list.js";
import { ErrorNotice, Loading, Page } from "../../components/page.js";
import { useLoad } from "../../hooks.js";
import { href } from "../../router.js";

/** Every credential's access rule at a glance (who reads, who approves, on what terms); a row opens its editor. */

const orNothing = (load: Promise<string[]>) => load.catch(() => [] as string[]);

interface Row {
  key: string;
  rule: AccessRule | null;
}

/** There is no list of rules: each credential's is read (`data: null` for none, as the UI asks). */
async function loadRows(): Promise<Row[]> {
  const keys = await listNames("/v1/totp/keys");
  return Promise.all(
    keys.map(async (key) => {
      const answer = await call<{ data: AccessRule | null }>(
        "GET",
        `/v1/totp/access/${encodeURIComponent(key)}`,
      );
      return { key, rule: answer.body.data };
    }),
  );
}

async function loadKnown(): Promise<Known> {
  const [users, groups, webhooks, mail] = await Promise.all([
    orNothing(listNames("/v1/auth/userpass/users")),
    orNothing(listNames("/v1/groups")),
    orNothing(listNames("/v1/notify/webhooks")),
    call<{ data: unknown }>("GET", "/v1/notify/smtp").then(
      (answer) => answer.body.data !== null,
      () => false,
    ),
  ]);
  return {
    principals: [...groups.map((g) => `group:${g}`), ...users.map((u) => `user:${u}`)],
    webhooks,
    mail,
  };
}

const listed = (names: string[], none: string) => (names.length ? names.join(", ") : none);

export function AccessRules(_props: { params: Record<string, string> }) {
  const rows = useLoad(loadRows);
  const known = useLoad(loadKnown);
  const [key, setKey] = useState("");
  const open = (name: string) => {
    setKey(name);
    // The editor is below the table: on a phone, far below.
    requestAnimationFrame(() => document.getElementById("rule-heading")?.focus());
  };
  return (
    <Page title="Access rules">
      <p class="hint">
        Without a rule only admins read a credential's code. A rule's reason and approval terms hold for
        everyone it lets in, admins included.
      </p>
      <ErrorNotice error={rows.error ?? known.error} />
      {rows.loading && !rows.value ? <Loading /> : null}
      {rows.value && rows.value.length === 0 ? (
        <p class="muted">
          No credentials yet: <a {...href("/admin/credentials/new")}>add one</a> first.
        </p>
      ) : null}
      {rows.value && rows.value.length > 0 ? (
        <table class="stack-table rule-table">
          <caption class="visually-hidden">Access rules of every credential</caption>
          <thead>
            <tr>
              <th scope="col">Credential</th>
              <th scope="col">Readers</th>
              <th scope="col">Approvers</th>
              <th scope="col">Approvals required</th>
              <th scope="col">Reason required</th>
              <th scope="col">Approval lifetime</th>
              <th scope="col">Notify</th>
            </tr>
          </thead>
          <tbody>
            {rows.value.map(({ key: name, rule }) => (
              <tr key={name} aria-current={name === key ? "true" : undefined}>
                <td data-label="Credential">
                  <button
                    type="button"
                    class="link-button"
                    aria-label={`${rule ? "Edit the rule of" : "Set a rule for"} ${name}`}
                    onClick={() => open(name)}
                  >
                    {name}
                  </button>
                </td>
                {rule ? (
                  <>
                    <td data-label="Readers">{listed(rule.readers, "Admins only")}</td>
                    <td data-label="Approvers">{listed(rule.approvers, "—")}</td>
                    <td data-label="Approvals required">{rule.approvals_required || "None"}</td>
                    <td data-label="Reason required">{rule.require_reason ? "Yes" : "No"}</td>
                    <td data-label="Approval lifetime">
                      {rule.approvals_required ? formatSeconds(rule.approval_ttl) : "—"}
                    </td>
                    <td data-label="Notify">{listed(rule.notify, "—")}</td>
                  </>
                ) : (
                  <td data-label="Rule" colSpan={6} class="muted">
                    No rule: only admins read it
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {key && known.value ? (
        <RuleEditor key={key} name={key} known={known.value} onChanged={rows.reload} />
      ) : null}
    </Page>
  );
}
