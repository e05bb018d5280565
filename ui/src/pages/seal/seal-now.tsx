import { useRef, useState } from "preact/hooks";
import { call, messageOf } from "../../api.js";
import { ErrorNotice } from "../../components/page.js";
import { holds, useSession } from "../../session.js";

/**
 * The emergency stop, in the top bar of every page for operators and admins: one click, one
 * confirmation that says what it does, then `POST /v1/sys/seal` and the unseal screen. A modal
 * <dialog> so that the question cannot be missed, and Cancel holds the focus so Enter is harmless.
 */
export function SealNow() {
  const { session, refresh } = useSession();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!holds(session, ["operator"])) return null;

  const seal = async () => {
    setBusy(true);
    setError(null);
    try {
      await call("POST", "/v1/sys/seal");
      dialog.current?.close();
      // The server now answers 503 for the session: the app asks again and shows the unseal screen.
      await refresh();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button
        type="button"
        class="button danger seal-now"
        onClick={() => {
          setError(null);
          dialog.current?.showModal();
        }}
      >
        Seal now
      </button>
      <dialog ref={dialog} class="seal-dialog" aria-labelledby="seal-now-heading">
        <h2 id="seal-now-heading">Seal breakglass now?</h2>
        <p>
          This server wipes every key it holds from memory at once. Until custodians give a quorum of unseal
          key shares again, nobody can read a code, sign in or make a backup here.
        </p>
        <p class="hint">
          It seals the server this page talks to. With several nodes behind a balancer, the others stay
          unsealed: seal each one (<code>breakglass operator seal</code> against its address).
        </p>
        <ErrorNotice error={error} />
        <div class="actions">
          {/* Listed first, and focused when the dialog opens. */}
          <button type="button" class="button secondary" autofocus onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class="button danger" disabled={busy} onClick={() => void seal()}>
            Seal this server now
          </button>
        </div>
      </dialog>
    </>
  );
}
