import { Field } from "../../components/field.js";
import type { CodeReading } from "./use-code-reading.js";

/** "Show code", once shown "Read again" (each a read on the record); for enrolment, two codes at once. */
function readLabel(enrol: boolean, shown: boolean): string {
  if (enrol) return shown ? "Read two codes again" : "Show two consecutive codes";
  return shown ? "Read again" : "Show code";
}

/**
 * The reason, and the one big button: "Show code" or "Read again", or "Request approval" when that
 * comes first; enrolment (two consecutive codes) is a mode of its own with that one button.
 */
export function ReadForm({ reading }: { reading: CodeReading }) {
  const { busy, needsReason } = reading;
  return (
    <form
      class="read-form"
      onSubmit={(event) => {
        event.preventDefault();
        reading.submit();
      }}
    >
      <Field
        label="Reason"
        hint={
          needsReason
            ? "Required: why you need the code (an incident or ticket). It goes on the audit log."
            : "Optional: why you need the code. It goes on the audit log."
        }
        value={reading.reason}
        onValue={reading.setReason}
        inputRef={reading.reasonInput}
        required={needsReason}
        maxLength={500}
        autocomplete="off"
      />
      <div class="actions">
        {reading.mayRead ? (
          <>
            <button type="submit" class="button button-big" ref={reading.primaryButton} disabled={busy}>
              {readLabel(reading.showNext, reading.shown !== null)}
            </button>
            {reading.showNext ? (
              <button type="button" class="link-button" onClick={reading.showOneCode}>
                Back to one code
              </button>
            ) : (
              <button
                type="button"
                class="button secondary"
                disabled={busy}
                onClick={() => reading.showCode(true)}
              >
                Show two consecutive codes
              </button>
            )}
          </>
        ) : reading.waiting ? null : (
          <button type="submit" class="button button-big" ref={reading.primaryButton} disabled={busy}>
            Request approval
          </button>
        )}
      </div>
      {reading.mayRead && reading.shown ? (
        <p class="hint" data-testid="read-again-hint">
          Each read is recorded on the audit log, and may notify the team.
        </p>
      ) : null}
    </form>
  );
}
