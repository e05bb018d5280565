import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { Field } from "../field.js";
import { ErrorNotice, Loading } from "../page.js";
import { ConfirmButton } from "./confirm-button.js";
import { describeEvents, type EventFilter, EventFilterField } from "./event-filter.js";
import { type Action, Outcome, useAction } from "./outcome.js";
import { ShownOnce } from "./shown-once.js";
import { readAll } from "./vault-list.js";

/** Webhooks (notify/webhooks/:name): signed JSON posts; a generated secret is shown once. */

interface Webhook {
  name: string;
  url: string;
  events: EventFilter;
  updated_at: string;
}

const PATH = "/v1/notify/webhooks";

export function Webhooks() {
  const list = useLoad(() => readAll<Webhook>(PATH));
  const [editing, setEditing] = useState<Webhook | null>(null);
  const [added, setAdded] = useState(0); // a new, empty form after each one saved
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const action = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  const remove = (name: string) =>
    action.run(async () => {
      await call("DELETE", `${PATH}/${encodeURIComponent(name)}`);
      if (editing?.name === name) setEditing(null);
      list.reload();
      heading.current?.focus();
      return `Webhook ${name} removed.`;
    });
  return (
    <section aria-labelledby="webhooks-heading">
      <h2 id="webhooks-heading" ref={heading} tabIndex={-1}>
        Webhooks
      </h2>
      <ErrorNotice error={list.error} />
      {list.loading && !list.value ? <Loading /> : null}
      {list.value && list.value.length === 0 ? <p class="muted">No webhooks yet.</p> : null}
      {list.value && list.value.length > 0 ? (
        <div class="table-scroll">
          <table class="stack-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.value.map((hook) => (
                <tr key={hook.name}>
                  <td data-label="Name">{hook.name}</td>
                  <td data-label="URL" class="wrap-anywhere">
                    {hook.url}
                  </td>
                  <td data-label="Events">{describeEvents(hook.events)}</td>
                  <td data-label="Actions">
                    <div class="row-actions">
                      <button
                        type="button"
                        class="button secondary"
                        aria-label={`Edit webhook ${hook.name}`}
                        onClick={() => setEditing(hook)}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        subject={`webhook ${hook.name}`}
                        question={`Delete webhook ${hook.name}?`}
                        confirmLabel={`Delete ${hook.name}`}
                        onConfirm={() => remove(hook.name)}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Outcome action={action} />
      {secret ? (
        <ShownOnce
          title={`Signing secret of ${secret.name}`}
          warning="Copy it into the receiver now: it will never be shown again."
          onDone={() => {
            setSecret(null);
            heading.current?.focus();
          }}
        >
          <p>
            <code class="secret">{secret.secret}</code>
          </p>
        </ShownOnce>
      ) : null}
      <WebhookForm
        key={editing?.name ?? `new-${added}`}
        editing={editing}
        action={action}
        onSaved={(name, generated) => {
          setEditing(null);
          setAdded((n) => n + 1);
          setSecret(generated ? { name, secret: generated } : null);
          list.reload();
        }}
        onCancel={() => setEditing(null)}
      />
    </section>
  );
}

function WebhookForm(props: {
  editing: Webhook | null;
  /** The section's: its outcome outlives this form, which is made anew after an edit. */
  action: Action;
  onSaved: (name: string, generatedSecret: string | null) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(props.editing?.name ?? "");
  const [url, setUrl] = useState(props.editing?.url ?? "");
  const [events, setEvents] = useState<EventFilter>(props.editing?.events ?? "*");
  const [secret, setSecret] = useState("");
  const action = props.action;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (props.editing) heading.current?.focus();
  }, [props.editing]);
  const submit = (event: Event) => {
    event.preventDefault();
    const given = secret;
    setSecret(""); // a secret typed here does not stay on the page
    void action.run(async () => {
      const answer = await call<{ data: { secret: string } } | null>(
        "PUT",
        `${PATH}/${encodeURIComponent(name.trim())}`,
        { url: url.trim(), events, ...(given ? { secret: given } : {}) },
      );
      props.onSaved(name.trim(), answer.body?.data?.secret ?? null);
      return `Webhook ${name.trim()} saved.`;
    });
  };
  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="webhook-form-heading">
      <h3 id="webhook-form-heading" ref={heading} tabIndex={-1}>
        {props.editing ? `Edit webhook ${props.editing.name}` : "Add a webhook"}
      </h3>
      <Field
        label="Webhook name"
        value={name}
        onValue={setName}
        required
        disabled={props.editing !== null}
        hint="Letters, digits, '.', '_' or '-'; access rules name it as webhook:NAME"
      />
      <Field
        label="URL"
        type="url"
        value={url}
        onValue={setUrl}
        required
        hint="Gets each event as a signed JSON POST (Slack-compatible text)"
      />
      <EventFilterField value={events} onValue={setEvents} />
      <Field
        label="Signing secret"
        type="password"
        value={secret}
        onValue={setSecret}
        autoComplete="new-password"
        hint={
          props.editing
            ? "Left empty, a new secret replaces the current one and is shown once: the receiver then needs it."
            : "16 to 256 characters; left empty, breakglass generates one and shows it once."
        }
      />
      <div class="actions">
        <button type="submit" class="button" disabled={action.busy}>
          Save webhook
        </button>
        {props.editing ? (
          <button type="button" class="button secondary" onClick={props.onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
