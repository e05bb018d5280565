import type { RefObject } from "preact";
import { CodeView, CopyButton } from "../../components/code-view.js";
import { Countdown } from "../../components/countdown.js";
import type { ShownCode } from "./code-read.js";

/** A clock further off than this is worth telling the reader about. */
const CLOCK_NOTE_MS = 2000;

function clockNote(offsetMs: number): string | null {
  if (Math.abs(offsetMs) <= CLOCK_NOTE_MS) return null;
  return `This device's clock is ${Math.round(Math.abs(offsetMs) / 1000)} s ${offsetMs > 0 ? "behind" : "ahead of"} the server's: the countdown follows the server.`;
}

/** The code with its countdown and Copy button, the next one for enrolment, and what the server warns of. */
export function CodePanel(props: {
  shown: ShownCode;
  secondsLeft: number | null;
  showNext: boolean;
  busy: boolean;
  copyButton: RefObject<HTMLButtonElement>;
}) {
  const { shown, secondsLeft } = props;
  const note = clockNote(shown.offsetMs);
  return (
    <section class="code-panel" aria-label="Code">
      <div class="code-row">
        <CodeView code={shown.code} label="Current code" testId="totp-code" />
        {secondsLeft !== null ? (
          <Countdown secondsLeft={secondsLeft} period={shown.period} expiresAt={shown.expiresAt} />
        ) : null}
      </div>
      <div class="actions">
        <CopyButton text={shown.code} buttonRef={props.copyButton} />
      </div>
      {props.showNext && shown.nextCode ? (
        <>
          <CodeView code={shown.nextCode} label="Next code (for enrolment)" testId="next-code" secondary />
          <div class="actions">
            <CopyButton text={shown.nextCode} label="Copy next code" />
          </div>
        </>
      ) : null}
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
