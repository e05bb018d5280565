import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

/**
 * The admin screens' fields beyond the one-line inputs and selects of components/field.tsx: each
 * with a visible label tied to its control and an optional hint read out with it.
 */

/** A labelled multi-line text box (components/field.tsx has the one-line inputs). */
export function TextArea(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  rows?: number;
  hint?: ComponentChildren;
  placeholder?: string;
  required?: boolean;
}) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label htmlFor={id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      <textarea
        id={id}
        rows={props.rows ?? 3}
        value={props.value}
        required={props.required}
        placeholder={props.placeholder}
        autoComplete="off"
        spellcheck={false}
        aria-describedby={hintId}
        onInput={(event) => props.onValue(event.currentTarget.value)}
      />
    </div>
  );
}

export interface Option {
  value: string;
  label: string;
}

/** One checkbox, its label beside it. */
export function CheckboxField(props: {
  label: string;
  checked: boolean;
  onChecked: (checked: boolean) => void;
  hint?: ComponentChildren;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div class="field">
      <div class="choice">
        <input
          id={id}
          type="checkbox"
          checked={props.checked}
          aria-describedby={props.hint ? hintId : undefined}
          onChange={(event) => props.onChecked(event.currentTarget.checked)}
        />
        <label htmlFor={id}>{props.label}</label>
      </div>
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

/** Several checkboxes under one legend: the values ticked. */
export function CheckboxGroup(props: {
  legend: string;
  options: Option[];
  selected: string[];
  onSelected: (selected: string[]) => void;
  hint?: ComponentChildren;
  /** Said instead of the boxes when there are none to tick. */
  empty?: string;
}) {
  const id = useId();
  const toggle = (value: string, checked: boolean) =>
    props.onSelected(
      checked
        ? props.options.map((o) => o.value).filter((v) => v === value || props.selected.includes(v))
        : props.selected.filter((v) => v !== value),
    );
  return (
    <fieldset class="choices" aria-describedby={props.hint ? `${id}-hint` : undefined}>
      <legend>{props.legend}</legend>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.options.length === 0 ? <p class="muted">{props.empty ?? "None yet."}</p> : null}
      {props.options.map((option, index) => (
        <div class="choice" key={option.value}>
          <input
            id={`${id}-${index}`}
            type="checkbox"
            checked={props.selected.includes(option.value)}
            onChange={(event) => toggle(option.value, event.currentTarget.checked)}
          />
          <label htmlFor={`${id}-${index}`}>{option.label}</label>
        </div>
      ))}
    </fieldset>
  );
}

/** Radio buttons under one legend. */
export function RadioGroup(props: {
  legend: string;
  options: Option[];
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
}) {
  const id = useId();
  return (
    <fieldset class="choices" aria-describedby={props.hint ? `${id}-hint` : undefined}>
      <legend>{props.legend}</legend>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.options.map((option, index) => (
        <div class="choice" key={option.value}>
          <input
            id={`${id}-${index}`}
            type="radio"
            name={id}
            value={option.value}
            checked={props.value === option.value}
            onChange={() => props.onValue(option.value)}
          />
          <label htmlFor={`${id}-${index}`}>{option.label}</label>
        </div>
      ))}
    </fieldset>
  );
}

/** A list typed as text: separated by commas, spaces or new lines. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Names as options labelled by themselves. */
export const optionsOf = (values: readonly string[]): Option[] =>
  values.map((value) => ({ value, label: value }));
