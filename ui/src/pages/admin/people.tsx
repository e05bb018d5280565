import { useRef, useState } from "preact/hooks";
import { call } from "../../api.js";
import { ConfirmButton } from "../../components/admin/confirm-button.js";
import { GroupForm } from "../../components/admin/group-form.js";
import { Outcome, useAction } from "../../components/admin/outcome.js";
import type { Group, User } from "../../components/admin/people-types.js";
import { UserForm } from "../../components/admin/user-form.js";
import { readAll } from "../../components/admin/vault-list.js";
import { ErrorNotice, Loading, Page } from "../../components/page.js";
import { useLoad } from "../../hooks.js";

/** People (userpass users) and groups: who they are, their roles, their second factor. */

const listed = (items: string[]) => (items.length > 0 ? items.join(", ") : "none");

function secondFactor(user: User): string {
  if (user.mfa === "enabled") return "enabled";
  if (user.mfa === "pending") return user.require_mfa ? "required, being enrolled" : "being enrolled";
  return user.require_mfa ? "required, not enabled yet" : "none";
}

export function People(_props: { params: Record<string, string> }) {
  const everyone = useLoad(async () => {
    const [users, groups] = await Promise.all([
      readAll<User>("/v1/auth/userpass/users"),
      readAll<Group>("/v1/groups"),
    ]);
    return { users, groups };
  });
  const users = everyone.value?.users ?? [];
  const groups = everyone.value?.groups ?? [];
  return (
    <Page title="People and groups">
      <ErrorNotice error={everyone.error} />
      {everyone.loading && !everyone.value ? <Loading /> : null}
      {everyone.value ? (
        <>
          <UsersSection users={users} groups={groups} onChanged={everyone.reload} />
          <GroupsSection users={users} groups={groups} onChanged={everyone.reload} />
        </>
      ) : null}
    </Page>
  );
}

function UsersSection(props: { users: User[]; groups: Group[]; onChanged: () => void }) {
  const [editing, setEditing] = useState<User | null>(null);
  const heading = useRef<HTMLHeadingElement>(null); // where the focus goes when the row it was on is gone
  const [added, setAdded] = useState(0); // a new, empty form after each one added
  const action = useAction();
  const remove = (username: string) =>
    action.run(async () => {
      await call("DELETE", `/v1/auth/userpass/users/${encodeURIComponent(username)}`);
      if (editing?.username === username) setEditing(null);
      props.onChanged();
      heading.current?.focus();
      return `${username} is deleted and their sessions ended.`;
    });
  const resetPasskeys = (username: string) =>
    action.run(async () => {
      await call("DELETE", `/v1/auth/userpass/users/${encodeURIComponent(username)}/passkeys`);
      return `Every passkey of ${username} is removed: they sign in with their password and add new ones.`;
    });
  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading" ref={heading} tabIndex={-1}>
        People
      </h2>
      {props.users.length === 0 ? (
        <p class="muted">Nobody yet: add the first person below.</p>
      ) : (
        <div class="table-scroll">
          <table class="stack-table">
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Name and email</th>
                <th scope="col">Groups</th>
                <th scope="col">Roles</th>
                <th scope="col">Second factor</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.users.map((user) => (
                <tr key={user.username}>
                  <td data-label="Username">{user.username}</td>
                  <td data-label="Name and email">
                    {user.display_name}
                    {user.email ? <div class="muted wrap-anywhere">{user.email}</div> : null}
                  </td>
                  <td data-label="Groups">{listed(user.groups)}</td>
                  <td data-label="Roles">{listed(user.policies)}</td>
                  <td data-label="Second factor">
                    {secondFactor(user)}
                    {user.locked_until ? (
                      <div>
                        <span class="badge badge-warning">
                          locked until {new Date(user.locked_until).toLocaleTimeString()}
                        </span>
                      </div>
                    ) : null}
                  </td>
                  <td data-label="Actions">
                    <div class="row-actions">
                      <button
                        type="button"
                        class="button secondary"
                        aria-label={`Edit ${user.username}`}
                        onClick={() => setEditing(user)}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        subject={user.username}
                        question={`Delete ${user.username}? Their sessions end now.`}
                        confirmLabel={`Delete ${user.username}`}
                        onConfirm={() => remove(user.username)}
                      />
                      <ConfirmButton
                        label="Reset passkeys"
                        subject={user.username}
                        question={`Remove every passkey of ${user.username} (all lost)? The team is told.`}
                        confirmLabel={`Reset passkeys of ${user.username}`}
                        onConfirm={() => resetPasskeys(user.username)}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Outcome action={action} />
      <UserForm
        key={editing?.username ?? `new-${added}`}
        editing={editing}
        groups={props.groups.map((g) => g.name)}
        action={action}
        onSaved={() => {
          setEditing(null);
          setAdded((n) => n + 1);
          props.onChanged();
        }}
        onCancel={() => setEditing(null)}
      />
    </section>
  );
}

function GroupsSection(props: { users: User[]; groups: Group[]; onChanged: () => void }) {
  const [editing, setEditing] = useState<Group | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [added, setAdded] = useState(0);
  const action = useAction();
  const remove = (name: string) =>
    action.run(async () => {
      await call("DELETE", `/v1/groups/${encodeURIComponent(name)}`);
      if (editing?.name === name) setEditing(null);
      props.onChanged();
      heading.current?.focus();
      return `Group ${name} is deleted.`;
    });
  return (
    <section aria-labelledby="groups-heading">
      <h2 id="groups-heading" ref={heading} tabIndex={-1}>
        Groups
      </h2>
      {props.groups.length === 0 ? (
        <p class="muted">No groups yet.</p>
      ) : (
        <div class="table-scroll">
          <table class="stack-table">
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">Members</th>
                <th scope="col">Roles</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.groups.map((group) => (
                <tr key={group.name}>
                  <td data-label="Group">{group.name}</td>
                  <td data-label="Members">{listed(group.members)}</td>
                  <td data-label="Roles">{listed(group.policies)}</td>
                  <td data-label="Actions">
                    <div class="row-actions">
                      <button
                        type="button"
                        class="button secondary"
                        aria-label={`Edit group ${group.name}`}
                        onClick={() => setEditing(group)}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        subject={`group ${group.name}`}
                        question={`Delete group ${group.name}? Its members lose its roles now.`}
                        confirmLabel={`Delete ${group.name}`}
                        onConfirm={() => remove(group.name)}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Outcome action={action} />
      <GroupForm
        key={editing?.name ?? `new-${added}`}
        editing={editing}
        users={props.users.map((u) => u.username)}
        action={action}
        onSaved={() => {
          setEditing(null);
          setAdded((n) => n + 1);
          props.onChanged();
        }}
        onCancel={() => setEditing(null)}
      />
    </section>
  );
}
