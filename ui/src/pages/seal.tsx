import { useEffect, useRef, useState } from "preact/hooks";
import { call } from "../api.js";
import { Field } from "../components/field.js";
import { ErrorNotice, Loading, Page } from "../components/page.js";

/** `GET /v1/sys/seal-status` (Vault's fields, and breakglass's bus-factor warning). */
interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  custody_warning?: string | null;
}

/** `PUT /v1/sys/init`: shown once, never kept after "I have handed them out". */
interface InitResult {
  keys: string[];
  root_token: string;
  custodians?: string[];
  /** Not in the answer: what was asked for. */
  threshold: number;
}

/** Other custodians may be giving their shares from their own browsers: their progress shows here too. */
const STATUS_POLL_MS = 3000;

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** Before anything else: initialise (once, ever), then unseal with a quorum of custodians' shares. */
export function SealScreen(props: { onUnsealed: () => void }) {
  const [status, setStatus] = useState<SealStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<InitResult | null>(null);
  const { onUnsealed } = props;

  const refresh = async (): Promise<SealStatus | null> => {
    try {
      const answer = await call<SealStatus>("GET", "/v1/sys/seal-status");
      setStatus(answer.body);
      setError(null);
      if (answer.body.initialized && !answer.body.sealed) onUnsealed();
      return answer.body;
    } catch (failure) {
      setError(messageOf(failure));
      return null;
    }
  };

  const polling = status?.initialized === true && issued === null;
  useEffect(() => {
    if (status === null) void refresh();
    if (!polling) return;
    const timer = setInterval(() => void refresh(), STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [polling]);

  const warning = status?.custody_warning ? (
    <p class="notice notice-warning" role="note">
      <strong>Bus factor:</strong> {status.custody_warning}
    </p>
  ) : null;

  if (issued)
    return (
      <IssuedKeys
        issued={issued}
        onHandedOut={() => {
          setIssued(null);
          void refresh();
        }}
      />
    );
  if (status === null) return error ? <ErrorNotice error={error} /> : <Loading />;
  if (!status.initialized)
    return (
      <InitForm
        onInitialised={(result) => {
          setIssued(result);
          setStatus({ ...status, initialized: true });
        }}
      />
    );
  return (
    <UnsealForm
      status={status}
      warning={warning}
      onStatus={setStatus}
      onUnsealed={onUnsealed}
      error={error}
    />
  );
}

function InitForm(props: { onInitialised: (result: InitResult) => void }) {
  const [shares, setShares] = useState("3");
  const [threshold, setThreshold] = useState("2");
  const [custodians, setCustodians] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async () => {
    const names = custodians
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    setBusy(true);
    setError(null);
    try {
      const answer = await call<Omit<InitResult, "threshold">>("PUT", "/v1/sys/init", {
        secret_shares: Number(shares),
        secret_threshold: Number(threshold),
        ...(names.length ? { custodians: names } : {}),
      });
      props.onInitialised({ ...answer.body, threshold: Number(threshold) });
    } catch (failure) {
      setError(messageOf(failure));
      setBusy(false);
    }
  };

  return (
    <Page title="Initialise breakglass">
      <p>
        The key ceremony, done once: breakglass makes its root key and splits it into shares, one per
        custodian. Any <em>threshold</em> of them together unseal the server; fewer reveal nothing.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <div class="field-row">
          <Field
            label="Shares"
            type="number"
            min={1}
            max={255}
            required
            inputMode="numeric"
            value={shares}
            onValue={setShares}
            hint="One per custodian"
          />
          <Field
            label="Threshold"
            type="number"
            min={1}
            max={255}
            required
            inputMode="numeric"
            value={threshold}
            onValue={setThreshold}
            hint="Shares needed to unseal"
          />
        </div>
        <Field
          label="Custodians (optional)"
          value={custodians}
          onValue={setCustodians}
          autocomplete="off"
          hint="Who receives each share, in order, separated by commas: alice, bob, carol"
        />
        <p class="hint">
          To encrypt each share to a custodian's OpenPGP key, use the CLI instead:{" "}
          <code>breakglass operator init --pgp-keys alice.asc,bob.asc,carol.asc</code>
        </p>
        <ErrorNotice error={error} />
        <div class="actions">
          <button type="submit" class="button" disabled={busy}>
            Initialise
          </button>
        </div>
      </form>
    </Page>
  );
}

function IssuedKeys(props: { issued: InitResult; onHandedOut: () => void }) {
  const { issued } = props;
  const spare = issued.keys.length - issued.threshold;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <Page title="Initialise breakglass">
      <div class="notice notice-warning" role="alert">
        <p>
          <strong>Shown only now.</strong> breakglass keeps none of these: write each share down for its
          custodian (or hand it over in person) before you go on. Any {issued.threshold} of these{" "}
          {issued.keys.length} shares unseal;{" "}
          {spare === 0 ? "lose any one and" : `lose more than ${spare} and`} nothing stored here can ever be
          unsealed again.
        </p>
      </div>
      <h2 ref={heading} tabIndex={-1}>
        Unseal keys
      </h2>
      <ol class="issued-keys">
        {issued.keys.map((key, index) => (
          <li key={key}>
            <span class="issued-holder">{issued.custodians?.[index] ?? `Custodian ${index + 1}`}</span>
            <code class="secret" data-testid="unseal-key">
              {key}
            </code>
          </li>
        ))}
      </ol>
      <h2>Root token</h2>
      <p class="hint">Use it to sign in and create people; then keep it in the safe, or revoke it.</p>
      <code class="secret" data-testid="root-token">
        {issued.root_token}
      </code>
      <div class="actions">
        <button type="button" class="button" onClick={props.onHandedOut}>
          I have handed them out
        </button>
      </div>
    </Page>
  );
}

function UnsealForm(props: {
  status: SealStatus;
  warning: preact.ComponentChildren;
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
