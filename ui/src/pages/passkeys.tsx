import { useState } from "preact/hooks";
import { messageOf } from "../api.js";
import { ConfirmButton } from "../components/admin/confirm-button.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";
import { Time } from "../components/time.js";
import { useLoad } from "../hooks.js";
import {
  listPasskeys,
  type PasskeyAnswer,
  passkeyProblem,
  registerPasskey,
  removePasskey,
  renamePasskey,
} from "../passkeys.js";
import { useSession } from "../session.js";

/**
 * One's own passkeys (docs/passkeys.md): add one (the browser asks to make it), name, rename and
 * remove them. Once a person has one, every password login asks for it too, and credentials whose
 * rule asks for a step-up want a touch at each read. Losing them all: an admin resets them.
 */
export function Passkeys(_props: { params: Record<string, string> }) {
  const { session } = useSession();
  if (!session.username)
    return (
      <Page title="Passkeys">
        <p class="empty">
          Passkeys belong to people: this session is a token without a person. Sign in with a username to
          manage yours.
        </p>
      </Page>
    );
  return <OwnPasskeys />;
}

function OwnPasskeys() {
  const listed = useLoad(listPasskeys);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [said, setSaid] = useState("");

  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      setSaid(await what());
      listed.reload();
    } catch (failure) {
      setError(passkeyProblem(failure) ?? messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  const passkeys = listed.value;
  return (
    <Page title="Passkeys">
      <p class="muted" role="status">
        {said}
      </p>
      <p class="hint">
        Once you have a passkey, signing in with your password asks for it too, and credentials whose access
        rule asks for a step-up want a touch at each read. Lost them all? An admin can reset your passkeys.
      </p>
      <ErrorNotice error={listed.error} />
      {passkeys === null ? (
        listed.loading ? (
          <Loading />
        ) : null
      ) : passkeys.length === 0 ? (
        <p class="empty">You have no passkey yet.</p>
      ) : (
        <ul class="passkey-list">
          {passkeys.map((passkey) => (
            <PasskeyItem
              key={passkey.id}
              passkey={passkey}
              busy={busy}
              onRename={(newName) =>
                act(async () => {
                  await renamePasskey(passkey.id, newName);
                  return `Renamed to ${newName}`;
                })
              }
              onRemove={() =>
                act(async () => {
                  await removePasskey(passkey.id);
                  return `Removed ${passkey.name}`;
                })
              }
            />
          ))}
        </ul>
      )}
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault();
          void act(async () => {
            const made = await registerPasskey(name);
            setName("");
            return `Added ${made.name}`;
          });
        }}
      >
        <h2>Add a passkey</h2>
        <Field
          label="Name"
          value={name}
          onValue={setName}
          maxLength={64}
          autocomplete="off"
          hint="What you call it: laptop, phone, YubiKey. Your browser then asks you to make the passkey."
        />
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="submit" class="button" disabled={busy}>
            Add passkey
          </button>
        </div>
      </form>
    </Page>
  );
}

function PasskeyItem(props: {
  passkey: PasskeyAnswer;
  busy: boolean;
  onRename: (name: string) => unknown;
  onRemove: () => unknown;
}) {
  const { passkey } = props;
  const [name, setName] = useState(passkey.name);
  return (
    <li class="card passkey">
      <h3>{passkey.name}</h3>
      <p class="muted">
        Added <Time iso={passkey.created_at} />
        {passkey.last_used_at ? (
          <>
            {", last used "}
            <Time iso={passkey.last_used_at} />
          </>
        ) : (
          ", never used"
        )}
        {passkey.backed_up ? ", synced by its provider" : ""}
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (name.trim() && name.trim() !== passkey.name) void props.onRename(name.trim());
        }}
      >
        <Field
          label={`New name for ${passkey.name}`}
          value={name}
          onValue={setName}
          maxLength={64}
          autocomplete="off"
        />
        <div class="actions">
          <button type="submit" class="button secondary" disabled={props.busy}>
            Rename
          </button>
          <ConfirmButton
            label="Remove"
            subject={passkey.name}
            question={`Remove ${passkey.name}? It will no longer sign you in.`}
            confirmLabel="Remove passkey"
            onConfirm={props.onRemove}
            disabled={props.busy}
          />
        </div>
      </form>
    </li>
  );
}
