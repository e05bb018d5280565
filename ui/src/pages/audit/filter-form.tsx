import { useState } from "preact/hooks";
import { Field, SelectField } from "../../components/field.js";
import { type Filters, NO_FILTERS } from "./filters.js";

const OUTCOMES = [
  { value: "", label: "Any" },
  { value: "allowed", label: "Allowed" },
  { value: "denied", label: "Denied" },
  { value: "failed", label: "Failed" },
] as const;

/** The filters as typed; they apply on "Apply filters" (or Enter), and "Clear" applies none. */
export function FilterForm(props: { onApply: (filters: Filters) => void }) {
  const [form, setForm] = useState<Filters>(NO_FILTERS);
  const set = (field: keyof Filters) => (value: string) =>
    setForm((current) => ({ ...current, [field]: value }));
  return (
    <form
      class="audit-filters"
      aria-label="Filter entries"
      onSubmit={(event) => {
        event.preventDefault();
        props.onApply(form);
      }}
    >
      <SelectField label="Outcome" value={form.outcome} options={OUTCOMES} onValue={set("outcome")} />
      <Field label="Action" value={form.action} onValue={set("action")} placeholder="totp.code.read" />
      <Field label="Actor" value={form.actor} onValue={set("actor")} placeholder="user:alice" />
      <Field
        label="Target"
        value={form.target}
        onValue={set("target")}
        placeholder="totp/keys/aws-prod-root"
      />
      <Field label="Reason contains" value={form.reason} onValue={set("reason")} />
      <Field label="Since" type="date" value={form.since} onValue={set("since")} />
      <Field label="Until" type="date" value={form.until} onValue={set("until")} hint="Inclusive" />
      <div class="actions audit-filter-actions">
        <button type="submit" class="button">
          Apply filters
        </button>
        <button
          type="button"
          class="button secondary"
          onClick={() => {
            setForm(NO_FILTERS);
            props.onApply(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
