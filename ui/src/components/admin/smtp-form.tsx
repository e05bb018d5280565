import { useState } from "preact/hooks";
import { call } from "../../api.js";
import { useLoad } from "../../hooks.js";
import { Field } from "../field.js";
import { ErrorNotice, Loading } from "../page.js";
import { ConfirmButton } from "./confirm-button.js";
import { type EventFilter, EventFilterField } from "./event-filter.js";
import { CheckboxField, splitList } from "./fields.js";
import { Outcome, useAction } from "./outcome.js";

/** The team's mail server (notify/smtp). Its password goes in and is never shown. */

interface Smtp {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  to: string[];
  username: string | null;
  events: EventFilter;
  has_password: boolean;
}

const PATH = "/v1/notify/smtp";

export function SmtpSettings() {
  const loaded = useLoad(async () => {
    const answer = await call<{ data: Smtp }>("GET", PATH, undefined, { accept: [404] });
    return answer.status === 404 ? null : answer.body.data;
  });
  return (
    <section aria-labelledby="smtp-heading">
      <h2 id="smtp-heading">Mail server</h2>
      <ErrorNotice error={loaded.error} />
      {loaded.loading ? <Loading /> : null}
      {loaded.loading || loaded.error ? null : <SmtpForm initial={loaded.value} />}
    </section>
  );
}

/** Loaded once; from then on what it saved is what the server holds. */
function SmtpForm(props: { initial: Smtp | null }) {
  const [current, setCurrent] = useState(props.initial);
  const [host, setHost] = useState(current?.host ?? "");
  const [port, setPort] = useState(String(current?.port ?? 587));
  const [secure, setSecure] = useState(current?.secure ?? false);
  const [from, setFrom] = useState(current?.from ?? "");
  const [to, setTo] = useState(current?.to.join(", ") ?? "");
  const [username, setUsername] = useState(current?.username ?? "");
  const [password, setPassword] = useState("");
  const [events, setEvents] = useState<EventFilter>(current?.events ?? "*");
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const given = password;
    setPassword("");
    void action.run(async () => {
      const settings = {
        host: host.trim(),
        port: Number(port),
        secure,
        from: from.trim(),
        to: splitList(to),
        username: username.trim() || null,
        events,
      };
      await call("PUT", PATH, { ...settings, ...(given ? { password: given } : {}) });
      setCurrent({ ...settings, has_password: given !== "" });
      return "Mail server saved.";
    });
  };
  const remove = () =>
    action.run(async () => {
      await call("DELETE", PATH);
      setCurrent(null);
      return "Mail server removed: nobody is e-mailed now.";
    });
  return (
    <form class="admin-form" onSubmit={submit}>
      {current ? null : <p class="muted">No mail server is set: nobody is e-mailed.</p>}
      <div class="field-row">
        <Field label="Host" value={host} onValue={setHost} required hint="Host name or IP address" />
        <Field label="Port" type="number" min={1} max={65535} value={port} onValue={setPort} required />
      </div>
      <CheckboxField
        label="TLS from the start"
        checked={secure}
        onChecked={setSecure}
        hint="Usually port 465. Unticked: STARTTLS when the server offers it (587, 25)."
      />
      <Field label="From" type="email" value={from} onValue={setFrom} required hint="The sender address" />
      <Field
        label="To"
        value={to}
        onValue={setTo}
        required
        hint="The team's addresses, separated by commas; approvers are also e-mailed their requests"
      />
      <div class="field-row">
        <Field label="SMTP username" value={username} onValue={setUsername} hint="Optional" />
        <Field
          label="SMTP password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="new-password"
          hint={
            current?.has_password
              ? "A password is kept and never shown. Saving replaces the whole setting: type it again, or it is removed."
              : "Optional, needs a username; stored encrypted, never shown"
          }
        />
      </div>
      <EventFilterField value={events} onValue={setEvents} />
      <div class="actions">
        <button type="submit" class="button" disabled={action.busy}>
          Save mail server
        </button>
        {current ? (
          <ConfirmButton
            label="Remove mail server"
            question="Remove the mail server? Nobody will be e-mailed."
            confirmLabel="Remove it"
            onConfirm={remove}
          />
        ) : null}
      </div>
      <Outcome action={action} />
    </form>
  );
}
