import { Field } from "../../components/field.js";
import type { CodeReading } from "./use-code-reading.js";

/** The reason, and the one big button: "Show code", or "Request approval" when that comes first. */
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
              Show code
            </button>
            {reading.showNext && reading.shown?.nextCode ? (
              <button type="button" class="button secondary" onClick={reading.showOneCode}>
                Show one code
              </button>
            ) : (
              <button
                type="button"
                class="button secondary"
                disabled={busy}
                onClick={() => reading.showCode(true)}
              >
                Enrolment: show two codes
              </button>
            )}
          </>
        ) : reading.waiting ? null : (
          <button type="submit" class="button button-big" ref={reading.primaryButton} disabled={busy}>
            Request approval
          </button>
        )}
      </div>
    </form>
  );
}
