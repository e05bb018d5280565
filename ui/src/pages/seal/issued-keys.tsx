import { useEffect, useRef, useState } from "preact/hooks";
import { CopyButton, useCopier } from "../../components/code-view.js";
import { Page } from "../../components/page.js";
import type { InitResult } from "./init-form.js";

/**
 * The unseal keys and root token, shown once, as a key ceremony hands them out: one share per
 * screen (for its custodian, with Copy and Print), the previous one gone from the page, then the
 * root token last. breakglass keeps none of them.
 */
export function IssuedKeys(props: { issued: InitResult; onHandedOut: () => void }) {
  const { issued } = props;
  const total = issued.keys.length;
  // 0 … total-1: a share; total: the root token.
  const [step, setStep] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [step]);
  const spare = total - issued.threshold;
  const key = issued.keys[step];
  const holder = issued.custodians?.[step];
  const copier = useCopier(key !== undefined ? "share" : "token");

  return (
    <Page title="Initialise breakglass">
      <div class="notice notice-warning" role="note">
        <p>
          <strong>Shown only now.</strong> breakglass keeps none of these: give each share to its custodian
          (copy it, print it or write it down) before you go on. Any {issued.threshold} of these {total}{" "}
          shares unseal; {spare === 0 ? "lose any one and" : `lose more than ${spare} and`} nothing stored
          here can ever be unsealed again.
        </p>
      </div>
      <section class="ceremony-step" aria-labelledby="ceremony-step-heading">
        {key !== undefined ? (
          <>
            <h2 id="ceremony-step-heading" ref={heading} tabIndex={-1}>
              Share {step + 1} of {total}
              {holder ? ` (for ${holder})` : ""}
            </h2>
            <p class="hint">Let only {holder ?? "its custodian"} see this screen.</p>
            <code class="secret" data-testid="unseal-key">
              {key}
            </code>
          </>
        ) : (
          <>
            <h2 id="ceremony-step-heading" ref={heading} tabIndex={-1}>
              Root token
            </h2>
            <p class="hint">Use it to sign in and create people; then keep it in the safe, or revoke it.</p>
            <code class="secret" data-testid="root-token">
              {issued.root_token}
            </code>
          </>
        )}
        <div class="actions ceremony-actions">
          <CopyButton
            key={step}
            text={key ?? issued.root_token}
            label={key !== undefined ? "Copy share" : "Copy token"}
            onCopy={copier.copy}
          />
          <button type="button" class="button secondary" onClick={() => window.print()}>
            Print
          </button>
          <span class="copy-status" role="status" aria-live="polite">
            {copier.said}
          </span>
        </div>
      </section>
      <div class="actions">
        {step < total ? (
          <button type="button" class="button" onClick={() => setStep(step + 1)}>
            {step + 1 < total ? "Next share" : "Show the root token"}
          </button>
        ) : (
          <button type="button" class="button" onClick={props.onHandedOut}>
            I have handed out every share
          </button>
        )}
      </div>
    </Page>
  );
}
