import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "../../api.js";
import { Field } from "../field.js";
import { CheckboxField, CheckboxGroup, optionsOf } from "./fields.js";
import type { Action } from "./outcome.js";
import { PERSON_ROLES, type User } from "./people-types.js";

/** Adds a person, or changes one (auth/userpass/users/:username): the whole record each time. */
export function UserForm(props: {
  editing: User | null;
  groups: string[];
  /** The section's: its outcome outlives this form, which is made anew after an edit. */
  action: Action;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const editing = props.editing;
  const [username, setUsername] = useState(editing?.username ?? "");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [displayName, setDisplayName] = useState(editing?.display_name ?? "");
  const [email, setEmail] = useState(editing?.email ?? "");
  const [groups, setGroups] = useState(editing?.groups ?? []);
  const [roles, setRoles] = useState(editing?.policies ?? []);
  const [requireMfa, setRequireMfa] = useState(editing?.require_mfa ?? false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing) heading.current?.focus();
  }, [editing]);

  const submit = (event: Event) => {
    event.preventDefault();
    const [given, repeated] = [password, again];
    setPassword("");
    setAgain("");
    const name = username.trim();
    void props.action.run(async () => {
      if (given !== repeated) throw new Error("the two passwords differ: type the same one twice");
      await call("PUT", `/v1/auth/userpass/users/${encodeURIComponent(name)}`, {
        ...(given ? { password: given } : {}),
        display_name: displayName.trim() || name,
        email: email.trim(),
        groups,
        policies: roles,
        require_mfa: requireMfa,
      });
      props.onSaved();
      return editing ? `${name} is changed.` : `${name} is added.`;
    });
  };

  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="user-form-heading">
      <h3 id="user-form-heading" ref={heading} tabIndex={-1}>
        {editing ? `Edit ${editing.username}` : "Add a person"}
      </h3>
      {editing ? null : (
        <Field
          label="Username"
          value={username}
          onValue={setUsername}
          required
          autoComplete="off"
          spellcheck={false}
          hint="Lower-case letters, digits, '.', '_' or '-'; access rules name them as user:NAME"
        />
      )}
      <div class="field-row">
        <Field
          label={editing ? "New password" : "Password"}
          type="password"
          value={password}
          onValue={setPassword}
          required={!editing}
          autoComplete="new-password"
          hint={editing ? "Leave empty to keep it. A new password ends their sessions." : undefined}
        />
        <Field
          label={editing ? "New password again" : "Password again"}
          type="password"
          value={again}
          onValue={setAgain}
          required={!editing}
          autoComplete="new-password"
        />
      </div>
      <div class="field-row">
        <Field label="Display name" value={displayName} onValue={setDisplayName} autoComplete="off" />
        <Field
          label="Email"
          type="email"
          value={email}
          onValue={setEmail}
          hint="Where approval requests reach them"
        />
      </div>
      <CheckboxGroup
        legend="Groups"
        options={optionsOf(props.groups)}
        selected={groups}
        onSelected={setGroups}
        empty="No groups yet: add one below, then tick it here."
      />
      <CheckboxGroup
        legend="Roles"
        options={PERSON_ROLES}
        selected={roles}
        onSelected={setRoles}
        hint="Besides the roles of their groups. Who reads which code is set by access rules."
      />
      <CheckboxField
        label="Require a second factor"
        checked={requireMfa}
        onChecked={setRequireMfa}
        hint="Until they enable one, they can only sign in to enrol it."
      />
      <div class="actions">
        <button type="submit" class="button" disabled={props.action.busy}>
          {editing ? "Save changes" : "Add person"}
        </button>
        {editing ? (
          <button type="button" class="button secondary" onClick={props.onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}
