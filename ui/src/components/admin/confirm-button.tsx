import { useEffect, useRef, useState } from "preact/hooks";

/**
 * A destructive button that asks first, in the page (no browser dialog): the question, the
 * button that does it, and Cancel, which has the focus so that Enter does nothing harmful.
 */
export function ConfirmButton(props: {
  label: string;
  /** What it acts on, when several such buttons share a page: "Delete" becomes "Delete alice" to a screen reader. */
  subject?: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => unknown;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    if (asking) cancel.current?.focus();
    else if (wasAsking.current) opener.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking)
    return (
      <button
        type="button"
        class="button secondary"
        ref={opener}
        aria-label={props.subject ? `${props.label} ${props.subject}` : undefined}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  return (
    <fieldset class="confirm">
      <legend class="confirm-question">{props.question}</legend>
      <button
        type="button"
        class="button danger"
        onClick={() => {
          setAsking(false);
          void props.onConfirm();
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="button secondary" ref={cancel} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  );
}
