import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "../../api.js";
import { Field } from "../field.js";
import { CheckboxGroup, optionsOf } from "./fields.js";
import type { Action } from "./outcome.js";
import { type Group, PERSON_ROLES } from "./people-types.js";

/** Adds or replaces a group (groups/:name): its members and the roles it gives them. */
export function GroupForm(props: {
  editing: Group | null;
  users: string[];
  action: Action;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const editing = props.editing;
  const [name, setName] = useState(editing?.name ?? "");
  const [members, setMembers] = useState(editing?.members ?? []);
  const [roles, setRoles] = useState(editing?.policies ?? []);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing) heading.current?.focus();
  }, [editing]);
  const submit = (event: Event) => {
    event.preventDefault();
    const group = name.trim();
    void props.action.run(async () => {
      await call("PUT", `/v1/groups/${encodeURIComponent(group)}`, { members, policies: roles });
      props.onSaved();
      return `Group ${group} saved.`;
    });
  };
  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="group-form-heading">
      <h3 id="group-form-heading" ref={heading} tabIndex={-1}>
        {editing ? `Edit group ${editing.name}` : "Add a group"}
      </h3>
      {editing ? null : (
        <Field
          label="Group name"
          value={name}
          onValue={setName}
          required
          hint="oncall, security; access rules name it as group:NAME"
        />
      )}
      <CheckboxGroup
        legend="Members"
        options={optionsOf(props.users)}
        selected={members}
        onSelected={setMembers}
        empty="No people yet."
      />
      <CheckboxGroup
        legend="Roles"
        options={PERSON_ROLES}
        selected={roles}
        onSelected={setRoles}
        hint="Every member holds these, as long as they are in the group."
      />
      <div class="actions">
        <button type="submit" class="button" disabled={props.action.busy}>
          Save group
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
