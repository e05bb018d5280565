import type { ComponentChildren, InputHTMLAttributes, Ref, SelectHTMLAttributes } from "preact";
import { useId } from "preact/hooks";

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "ref"> {
  label: string;
  /** Shown under the label and read out with the input (aria-describedby). */
  hint?: ComponentChildren;
  inputRef?: Ref<HTMLInputElement>;
  /** The new text on every keystroke, for a controlled field. */
  onValue?: (value: string) => void;
}

/** A labelled input: a visible `<label for>`, an optional hint tied to it, any input attribute passed through. */
export function Field({ label, hint, inputRef, onValue, ...input }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint ? (
        <p id={hintId} class="hint">
          {hint}
        </p>
      ) : null}
      <input
        {...input}
        id={id}
        ref={inputRef}
        aria-describedby={hintId}
        onInput={onValue ? (event) => onValue(event.currentTarget.value) : input.onInput}
      />
    </div>
  );
}

interface SelectFieldProps extends Omit<SelectHTMLAttributes<HTMLSelectElement>, "id" | "value"> {
  label: string;
  value: string;
  options: readonly { value: string; label: string }[];
  onValue: (value: string) => void;
}

/** A labelled `<select>`. */
export function SelectField({ label, value, options, onValue, ...select }: SelectFieldProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select {...select} id={id} value={value} onChange={(event) => onValue(event.currentTarget.value)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}
