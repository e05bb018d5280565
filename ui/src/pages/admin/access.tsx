import { useState } from "preact/hooks";
import { call, data } from "../../api.js";
import { ConfirmButton } from "../../components/admin/confirm-button.js";
import { CheckboxField, CheckboxGroup, splitList } from "../../components/admin/fields.js";
import { Outcome, useAction } from "../../components/admin/outcome.js";
import { listNames } from "../../components/admin/vault-list.js";
import { Field, SelectField } from "../../components/field.js";
import { ErrorNotice, Loading, Page } from "../../components/page.js";
import { useLoad } from "../../hooks.js";
import { href } from "../../router.js";

/** A credential's access rule (totp/access/:name): who reads, who approves, on what terms. */

interface AccessRule {
  key: string;
  readers: string[];
  approvers: string[];
  approvals_required: number;
  require_reason: boolean;
  /** Seconds. */
  approval_ttl: number;
  notify: string[];
  updated_at: string;
}

/** Whom a rule may name, to remind the admin of the spelling; empty when the session may not list them. */
interface Known {
  users: string[];
  groups: string[];
  webhooks: string[];
}

const orNothing = (load: Promise<string[]>) => load.catch(() => [] as string[]);

export function AccessRules(_props: { params: Record<string, string> }) {
  const keys = useLoad(() => listNames("/v1/totp/keys"));
  const known = useLoad(async () => {
    const [users, groups, webhooks] = await Promise.all([
      orNothing(listNames("/v1/auth/userpass/users")),
      orNothing(listNames("/v1/groups")),
      orNothing(listNames("/v1/notify/webhooks")),
    ]);
    return { users, groups, webhooks };
  });
  const [key, setKey] = useState("");
  return (
    <Page title="Access rules">
      <p class="hint">
        Without a rule only admins read a credential's code. A rule's reason and approval terms hold for
        everyone it lets in, admins included.
      </p>
      <ErrorNotice error={keys.error} />
      {keys.loading && !keys.value ? <Loading /> : null}
      {keys.value && keys.value.length === 0 ? (
        <p class="muted">
          No credentials yet: <a {...href("/admin/credentials/new")}>add one</a> first.
        </p>
      ) : null}
      {keys.value && keys.value.length > 0 ? (
        <div class="admin-form">
          <SelectField
            label="Credential"
            value={key}
            onValue={setKey}
            options={[
              { value: "", label: "Choose a credential…" },
              ...keys.value.map((k) => ({ value: k, label: k })),
            ]}
          />
        </div>
      ) : null}
      {key ? (
        <RuleEditor key={key} name={key} known={known.value ?? { users: [], groups: [], webhooks: [] }} />
      ) : null}
    </Page>
  );
}

function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function RuleEditor(props: { name: string; known: Known }) {
  const path = `/v1/totp/access/${encodeURIComponent(props.name)}`;
  const [form, setForm] = useState<{
    readers: string;
    approvers: string;
    approvals: string;
    reason: boolean;
    ttl: string;
    notify: string[];
  } | null>(null);
  const [exists, setExists] = useState(false);
  const fill = (rule: AccessRule | null) => {
    setExists(rule !== null);
    setForm({
      readers: rule?.readers.join(", ") ?? "",
      approvers: rule?.approvers.join(", ") ?? "",
      approvals: String(rule?.approvals_required ?? 0),
      reason: rule?.require_reason ?? false,
      ttl: formatSeconds(rule?.approval_ttl ?? 900),
      notify: rule?.notify ?? [],
    });
  };
  const loaded = useLoad(async () => {
    const answer = await call<{ data: AccessRule }>("GET", path, undefined, { accept: [404] });
    fill(answer.status === 404 ? null : answer.body.data);
    return true;
  }, [path]);
  const action = useAction();

  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  if (!form) return <Loading />;
  const update = (change: Partial<typeof form>) => setForm({ ...form, ...change });

  const channels = ["email", ...props.known.webhooks.map((w) => `webhook:${w}`)];
  for (const channel of form.notify) if (!channels.includes(channel)) channels.push(channel);
  const names = [
    props.known.groups.length > 0 ? `Groups: ${props.known.groups.join(", ")}.` : "",
    props.known.users.length > 0 ? `People: ${props.known.users.join(", ")}.` : "",
  ].join(" ");

  const save = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const rule = await data<AccessRule>("PUT", path, {
        readers: splitList(form.readers),
        approvers: splitList(form.approvers),
        approvals_required: Number(form.approvals),
        require_reason: form.reason,
        approval_ttl: form.ttl.trim(),
        notify: form.notify,
      });
      fill(rule);
      return `The access rule of ${props.name} is saved.`;
    });
  };
  const remove = () =>
    action.run(async () => {
      await call("DELETE", path);
      fill(null);
      return `${props.name} has no access rule now: only admins read its code.`;
    });

  return (
    <section aria-labelledby="rule-heading">
      <h2 id="rule-heading">Rule for {props.name}</h2>
      {exists ? null : (
        <p class="notice">
          {props.name} has no access rule: only admins may read it. Saving this form sets one.
        </p>
      )}
      <form class="admin-form" onSubmit={save}>
        <Field
          label="Readers"
          value={form.readers}
          onValue={(readers) => update({ readers })}
          hint={`Who may read its code: user:NAME or group:NAME, separated by commas. Empty: admins only. ${names}`}
        />
        <Field
          label="Approvers"
          value={form.approvers}
          onValue={(approvers) => update({ approvers })}
          hint="Who approves a read: user:NAME or group:NAME. Nobody approves their own request."
        />
        <div class="field-row">
          <Field
            label="Approvals required"
            type="number"
            min={0}
            max={10}
            value={form.approvals}
            onValue={(approvals) => update({ approvals })}
            hint="0 for none; each from a different approver"
          />
          <Field
            label="Approval lifetime"
            value={form.ttl}
            onValue={(ttl) => update({ ttl })}
            hint="How long an approval lasts: 90s, 15m, 1h (at most 24h)"
          />
        </div>
        <CheckboxField
          label="Reason required"
          checked={form.reason}
          onChecked={(reason) => update({ reason })}
          hint="Every read must say why; the reason goes on the audit log."
        />
        <CheckboxGroup
          legend="Notify"
          options={channels.map((c) => ({
            value: c,
            label: c === "email" ? "email (the mail server's recipients)" : c,
          }))}
          selected={form.notify}
          onSelected={(notify) => update({ notify })}
          hint="Channels told of every read, even when their own event filter leaves reads out."
        />
        <div class="actions">
          <button type="submit" class="button" disabled={action.busy}>
            Save rule
          </button>
          {exists ? (
            <ConfirmButton
              label="Delete rule"
              question={`Delete the rule of ${props.name}? Only admins will read its code.`}
              confirmLabel="Delete rule"
              disabled={action.busy}
              onConfirm={remove}
            />
          ) : null}
        </div>
        <Outcome action={action} />
      </form>
    </section>
  );
}
