import { ApprovalState } from "../components/approval-state.js";
import { ErrorNotice, Page } from "../components/page.js";
import { useLoad } from "../hooks.js";
import { href } from "../router.js";
import { CodePanel } from "./credential/code-panel.js";
import { CredentialFacts } from "./credential/credential-facts.js";
import { ReadForm } from "./credential/read-form.js";
import { useCodeReading } from "./credential/use-code-reading.js";
import { loadCredentials } from "./credentials.js";

export function Credential(props: { params: Record<string, string> }) {
  const name = props.params.name ?? "";
  // A fresh page (no code, no timers) for every credential.
  return <CredentialPage key={name} name={name} />;
}

/** The 3 a.m. path: a reason, "Show code", the code with its countdown, the next one at the boundary. */
function CredentialPage({ name }: { name: string }) {
  const directory = useLoad(loadCredentials);
  const info = directory.value?.find((entry) => entry.name === name) ?? null;
  const reading = useCodeReading(name, info, !directory.loading);

  return (
    <Page title={name}>
      <p class="back">
        <a {...href("/")}>← Back to the list</a>
      </p>
      {info ? <CredentialFacts info={info} /> : null}
      <ReadForm reading={reading} />
      {reading.approval ? <ApprovalState approval={reading.approval} /> : null}
      <ErrorNotice error={reading.error} />
      {reading.shown ? (
        <CodePanel
          shown={reading.shown}
          secondsLeft={reading.secondsLeft}
          showNext={reading.showNext}
          busy={reading.busy}
          copyButton={reading.copyButton}
        />
      ) : null}
      {reading.stopped ? <p class="notice">{reading.stopped}</p> : null}
      <p class="visually-hidden" role="status">
        {reading.said}
      </p>
    </Page>
  );
}
