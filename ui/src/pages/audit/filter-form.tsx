import { useId, useState } from "preact/hooks";
import { CheckboxField } from "../../components/admin/fields.js";
import { Field, SelectField } from "../../components/field.js";
import { DEFAULT_FILTERS, type Filters, PERIODS, type Period } from "./filters.js";

const OUTCOMES = [
  { value: "", label: "Any" },
  { value: "allowed", label: "Allowed" },
  { value: "denied", label: "Denied" },
  { value: "failed", label: "Failed" },
] as const;

/**
 * The filters as typed; they apply on "Apply filters" (or Enter), and "Clear" goes back to the
 * default (the last 7 days, no housekeeping). `people` fill the actor's suggestions, asked for
 * when the field is first focused.
 */
export function FilterForm(props: {
  onApply: (filters: Filters) => void;
  people: string[];
  onActorFocus: () => void;
}) {
  const [form, setForm] = useState<Filters>(DEFAULT_FILTERS);
  const peopleId = useId();
  const set =
    (field: "outcome" | "action" | "actor" | "target" | "reason" | "since" | "until") => (value: string) =>
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
      <SelectField
        label="Period"
        value={form.period}
        options={PERIODS}
        onValue={(period) => setForm((current) => ({ ...current, period: period as Period }))}
      />
      {form.period === "dates" ? (
        <>
          <Field label="Since" type="date" value={form.since} onValue={set("since")} />
          <Field label="Until (inclusive)" type="date" value={form.until} onValue={set("until")} />
        </>
      ) : null}
      <Field
        label="Actor"
        value={form.actor}
        onValue={set("actor")}
        placeholder="alice"
        list={peopleId}
        autoComplete="off"
        onFocus={props.onActorFocus}
      />
      <datalist id={peopleId}>
        {props.people.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <Field label="Action" value={form.action} onValue={set("action")} placeholder="totp" />
      <Field label="Target" value={form.target} onValue={set("target")} placeholder="aws-prod-root" />
      <SelectField label="Outcome" value={form.outcome} options={OUTCOMES} onValue={set("outcome")} />
      <Field label="Reason contains" value={form.reason} onValue={set("reason")} />
      <CheckboxField
        label="Show housekeeping"
        checked={form.housekeeping}
        onChecked={(housekeeping) => setForm((current) => ({ ...current, housekeeping }))}
      />
      <div class="actions audit-filter-actions">
        <button type="submit" class="button">
          Apply filters
        </button>
        <button
          type="button"
          class="button secondary"
          onClick={() => {
            setForm(DEFAULT_FILTERS);
            props.onApply(DEFAULT_FILTERS);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
