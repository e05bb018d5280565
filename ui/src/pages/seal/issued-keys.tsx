import { useEffect, useRef } from "preact/hooks";
import { Page } from "../../components/page.js";
import type { InitResult } from "./init-form.js";

/** The unseal keys and root token, shown once: breakglass keeps none of them. */
export function IssuedKeys(props: { issued: InitResult; onHandedOut: () => void }) {
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
