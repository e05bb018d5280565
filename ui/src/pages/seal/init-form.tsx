import { useState } from "preact/hooks";
import { call, messageOf } from "../../api.js";
import { Field } from "../../components/field.js";
import { ErrorNotice, Page } from "../../components/page.js";

/** `PUT /v1/sys/init`: shown once, never kept after "I have handed them out". */
export interface InitResult {
  keys: string[];
  root_token: string;
  custodians?: string[];
  /** Not in the answer: what was asked for. */
  threshold: number;
}

/** The key ceremony: how many shares, how many unseal, and who holds each. */
export function InitForm(props: { onInitialised: (result: InitResult) => void }) {
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
