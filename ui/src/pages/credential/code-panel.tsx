import type { RefObject } from "preact";
import { CodeView, CopyButton, useCopier } from "../../components/code-view.js";
import { Countdown } from "../../components/countdown.js";
import type { ShownCode } from "./code-read.js";

/** A clock further off than this is worth telling the reader about. */
const CLOCK_NOTE_MS = 2000;

function clockNote(offsetMs: number): string | null {
  if (Math.abs(offsetMs) <= CLOCK_NOTE_MS) return null;
  return `This device's clock is ${Math.round(Math.abs(offsetMs) / 1000)} s ${offsetMs > 0 ? "behind" : "ahead of"} the server's: the countdown follows the server.`;
}

/**
 * The code with its countdown and Copy button (clicking the code copies it too), both codes side by
 * side for enrolment ("now", "next"), and what the server warns of.
 */
export function CodePanel(props: {
  shown: ShownCode;
  secondsLeft: number | null;
  showNext: boolean;
  busy: boolean;
  copyButton: RefObject<HTMLButtonElement>;
}) {
  const { shown, secondsLeft } = props;
  const note = clockNote(shown.offsetMs);
  const copier = useCopier();
  const next = props.showNext ? shown.nextCode : null;
  return (
    <section class={next ? "code-panel code-panel-enrol" : "code-panel"} aria-label="Code">
      <div class="code-row">
        <CodeView
          code={shown.code}
          label={next ? "Now" : "Current code"}
          testId="totp-code"
          onCopy={copier.copy}
        />
        {next ? (
          <CodeView code={next} label="Next" testId="next-code" secondary onCopy={copier.copy} />
        ) : null}
        {secondsLeft !== null ? (
          <Countdown secondsLeft={secondsLeft} period={shown.period} expiresAt={shown.expiresAt} />
        ) : null}
      </div>
      <div class="actions copy">
        <CopyButton text={shown.code} buttonRef={props.copyButton} onCopy={copier.copy} />
        {next ? <CopyButton text={next} label="Copy next code" onCopy={copier.copy} /> : null}
        <span class="copy-status" role="status" aria-live="polite" data-testid="copy-status">
          {copier.said}
        </span>
      </div>
      {props.busy && secondsLeft !== null && secondsLeft <= 0 ? (
        <p class="muted">Fetching the next code…</p>
      ) : null}
      {note ? <p class="hint">{note}</p> : null}
      {shown.warnings.map((warning) => (
        <p class="notice notice-warning" role="alert" key={warning}>
          The server warns: {warning}
        </p>
      ))}
    </section>
  );
}
