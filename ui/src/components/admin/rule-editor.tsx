import { useState } from "preact/hooks";
import { call, data } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { Field } from "../field.js";
import { ErrorNotice, Loading } from "../page.js";
import { type AccessRule, formatSeconds, type Known } from "./access-rule.js";
import { ConfirmButton } from "./confirm-button.js";
import { CheckboxField, CheckboxGroup, optionsOf } from "./fields.js";
import { Outcome, useAction } from "./outcome.js";

interface Form {
  readers: string[];
  approvers: string[];
  approvals: string;
  reason: boolean;
  stepUp: boolean;
  approverStepUp: boolean;
  ttl: string;
  notify: string[];
}

/** The known names, then any the rule holds that are not (a person since removed): nothing is dropped unseen. */
const choices = (known: readonly string[], held: readonly string[]) => [
  ...known,
  ...held.filter((name) => !known.includes(name)),
];

const NOBODY = "No people or groups yet: add them under People and groups.";

/** One credential's rule: readers and approvers picked from people and groups, and its terms. */
export function RuleEditor(props: { name: string; known: Known; onChanged: () => void }) {
  const path = `/v1/totp/access/${encodeURIComponent(props.name)}`;
  const [form, setForm] = useState<Form | null>(null);
  const [exists, setExists] = useState(false);
  const fill = (rule: AccessRule | null) => {
    setExists(rule !== null);
    setForm({
      readers: rule?.readers ?? [],
      approvers: rule?.approvers ?? [],
      approvals: String(rule?.approvals_required ?? 0),
      reason: rule?.require_reason ?? false,
      stepUp: rule?.step_up ?? false,
      approverStepUp: rule?.approver_step_up ?? false,
      ttl: formatSeconds(rule?.approval_ttl ?? 900),
      notify: rule?.notify ?? [],
    });
  };
  const loaded = useLoad(async () => {
    fill((await call<{ data: AccessRule | null }>("GET", path)).body.data);
    return true;
  }, [path]);
  const action = useAction();

  if (loaded.error) return <ErrorNotice error={loaded.error} />;
  if (!form) return <Loading />;
  const update = (change: Partial<Form>) => setForm({ ...form, ...change });

  const offered = [
    ...(props.known.mail ? ["email"] : []),
    ...props.known.webhooks.map((w) => `webhook:${w}`),
  ];
  const channels = choices(offered, form.notify).map((value) => ({
    value,
    label:
      value !== "email"
        ? value
        : props.known.mail
          ? "email (the mail server's recipients)"
          : "email (no mail server is set: nothing is sent)",
  }));

  const save = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const rule = await data<AccessRule>("PUT", path, {
        readers: form.readers,
        approvers: form.approvers,
        approvals_required: Number(form.approvals),
        require_reason: form.reason,
        step_up: form.stepUp,
        approver_step_up: form.approverStepUp,
        approval_ttl: form.ttl.trim(),
        notify: form.notify,
      });
      fill(rule);
      props.onChanged();
      return `The access rule of ${props.name} is saved.`;
    });
  };
  const remove = () =>
    action.run(async () => {
      await call("DELETE", path);
      fill(null);
      props.onChanged();
      return `${props.name} has no access rule now: only admins read its code.`;
    });

  return (
    <section aria-labelledby="rule-heading">
      <h2 id="rule-heading" tabIndex={-1}>
        Rule for {props.name}
      </h2>
      {exists ? null : (
        <p class="notice">
          {props.name} has no access rule: only admins may read it. Saving this form sets one.
        </p>
      )}
      <form class="admin-form" onSubmit={save}>
        <CheckboxGroup
          legend="Readers"
          options={optionsOf(choices(props.known.principals, form.readers))}
          selected={form.readers}
          onSelected={(readers) => update({ readers })}
          hint="Who may read its code. None ticked: admins only."
          empty={NOBODY}
        />
        <CheckboxGroup
          legend="Approvers"
          options={optionsOf(choices(props.known.principals, form.approvers))}
          selected={form.approvers}
          onSelected={(approvers) => update({ approvers })}
          hint="Who approves a read. Nobody approves their own request."
          empty={NOBODY}
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
        <CheckboxField
          label="Passkey at each read"
          checked={form.stepUp}
          onChecked={(stepUp) => update({ stepUp })}
          hint="Step-up: every read needs a fresh touch of the reader's passkey, bound to that read. Tokens without a person cannot read it."
        />
        <CheckboxField
          label="Passkey to approve"
          checked={form.approverStepUp}
          onChecked={(approverStepUp) => update({ approverStepUp })}
          hint="Step-up: an approver's yes needs a fresh touch of their passkey, bound to that request."
        />
        <CheckboxGroup
          legend="Notify"
          options={channels}
          selected={form.notify}
          onSelected={(notify) => update({ notify })}
          hint="Channels told of every read, even when their own event filter leaves reads out."
          empty="No channel yet: set a mail server or a webhook under Notifications."
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
