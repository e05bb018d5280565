import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { call, messageOf } from "../../api.js";
import { Field } from "../../components/field.js";
import { ErrorNotice, Page } from "../../components/page.js";
import type { SealStatus } from "./use-seal-status.js";

/** One custodian's share at a time, and how many of the threshold are in. */
export function UnsealForm(props: {
  status: SealStatus;
  warning: ComponentChildren;
  error: string | null;
  onStatus: (status: SealStatus) => void;
  onUnsealed: () => void;
}) {
  const { status } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Uncontrolled on purpose: the share lives only in the input, never in state, and is cleared on submit.
  const share = useRef<HTMLInputElement>(null);
  useEffect(() => share.current?.focus(), []);

  const send = async (body: { key: string } | { reset: true }) => {
    setBusy(true);
    setError(null);
    try {
      const answer = await call<SealStatus>("PUT", "/v1/sys/unseal", body);
      props.onStatus(answer.body);
      if (!answer.body.sealed) props.onUnsealed();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
      share.current?.focus();
    }
  };

  return (
    <Page title="Unseal">
      {props.warning}
      <p>
        breakglass is sealed: it holds no key until {status.t} custodian{status.t === 1 ? "" : "s"} each give
        their share. Each custodian enters their own share; nobody needs to see another's.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const input = share.current;
          const key = input?.value.trim() ?? "";
          if (input) input.value = "";
          if (!key) {
            setError("Enter a share first.");
            input?.focus();
            return;
          }
          void send({ key });
        }}
      >
        <Field
          label="Unseal key share"
          type="password"
          autocomplete="off"
          spellcheck={false}
          autocapitalize="off"
          autoCorrect="off"
          inputRef={share}
          hint="Hex or base64, as printed at the key ceremony."
        />
        <ErrorNotice error={error ?? props.error} />
        <div class="actions">
          <button type="submit" class="button" disabled={busy}>
            Submit share
          </button>
          {status.progress > 0 ? (
            <button
              type="button"
              class="button secondary"
              disabled={busy}
              onClick={() => void send({ reset: true })}
            >
              Start over
            </button>
          ) : null}
        </div>
      </form>
      <p class="unseal-progress" role="status" data-testid="unseal-progress">
        {status.progress} of {status.t} shares given
      </p>
      <progress class="unseal-meter" max={status.t} value={status.progress} aria-hidden="true" />
    </Page>
  );
}
