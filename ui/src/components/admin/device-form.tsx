import { useEffect, useRef, useState } from "preact/hooks";
import { data } from "../../api.js";
import { Field, SelectField } from "../field.js";
import { KIND_LABELS, STATUS_LABELS } from "./device-labels.js";
import type { Device } from "./device-types.js";
import { DEVICE_KINDS } from "./device-types.js";
import { optionsOf, splitList, TextArea } from "./fields.js";
import type { Action } from "./outcome.js";

const KIND_OPTIONS = DEVICE_KINDS.map((value) => ({ value, label: KIND_LABELS[value] }));

/** Registers a device (POST /v1/devices) or changes one (PATCH /v1/devices/:id). */
export function DeviceForm(props: {
  editing: Device | null;
  credentials: string[];
  action: Action;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const editing = props.editing;
  const [kind, setKind] = useState<string>(editing?.kind ?? "hardware-totp");
  const [label, setLabel] = useState(editing?.label ?? "");
  const [serial, setSerial] = useState(editing?.serial ?? "");
  const [protects, setProtects] = useState(editing?.protects.join(", ") ?? "");
  const [location, setLocation] = useState(editing?.location ?? "");
  const [custodian, setCustodian] = useState(editing?.custodian ?? "");
  const [battery, setBattery] = useState(editing?.battery_expires ?? "");
  const [review, setReview] = useState(editing?.review_by ?? "");
  const [rule, setRule] = useState(editing?.access_rule ?? "");
  const [notes, setNotes] = useState(editing?.notes ?? "");
  const [status, setStatus] = useState(editing?.status ?? "in-safe");
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const submit = (event: Event) => {
    event.preventDefault();
    void props.action.run(async () => {
      const fields = {
        kind,
        label: label.trim(),
        serial: serial.trim(),
        protects: splitList(protects),
        location: location.trim(),
        custodian: custodian.trim(),
        battery_expires: battery || null,
        review_by: review || null,
        access_rule: rule || null,
        notes,
      };
      const saved = editing
        ? await data<Device>("PATCH", `/v1/devices/${encodeURIComponent(editing.id)}`, {
            ...fields,
            ...(status !== editing.status ? { status } : {}),
          })
        : await data<Device>("POST", "/v1/devices", fields);
      props.onSaved();
      return editing ? `${saved.label} is saved.` : `${saved.label} is registered, in the safe.`;
    });
  };

  const ruleOptions = [
    { value: "", label: "None: admins and operators check it out" },
    ...optionsOf(props.credentials),
  ];
  if (rule && !props.credentials.includes(rule)) ruleOptions.push({ value: rule, label: rule });

  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="device-form-heading">
      <h3 id="device-form-heading" ref={heading} tabIndex={-1}>
        {editing ? `Edit ${editing.label}` : "Add a device"}
      </h3>
      <div class="field-row">
        <SelectField label="Kind" value={kind} onValue={setKind} options={KIND_OPTIONS} />
        <Field
          label="Label"
          value={label}
          onValue={setLabel}
          required
          hint="What people call it: AWS root token"
        />
        <Field label="Serial number" value={serial} onValue={setSerial} required />
      </div>
      <Field
        label="Protects"
        value={protects}
        onValue={setProtects}
        required
        hint="Credential names and/or account names, separated by commas"
      />
      <div class="field-row">
        <Field
          label="Location"
          value={location}
          onValue={setLocation}
          required
          hint="Safe B, Berlin office"
        />
        <Field
          label="Custodian"
          value={custodian}
          onValue={setCustodian}
          required
          hint="Who holds that place (the safe's keyholder)"
        />
      </div>
      <div class="field-row">
        <Field label="Battery expires" type="date" value={battery} onValue={setBattery} />
        <Field
          label="Review by"
          type="date"
          value={review}
          onValue={setReview}
          hint="At least one of the two dates, or nobody looks at it again"
        />
      </div>
      <SelectField label="Check-out rule" value={rule} onValue={setRule} options={ruleOptions} />
      {editing && editing.status !== "checked-out" ? (
        <SelectField
          label="Status"
          value={status}
          onValue={(value) => setStatus(value as Device["status"])}
          options={[
            { value: "in-safe", label: STATUS_LABELS["in-safe"] },
            { value: "lost", label: `${STATUS_LABELS.lost}: cannot be found, not counted as a factor` },
            { value: "retired", label: `${STATUS_LABELS.retired}: kept on record, never due` },
          ]}
        />
      ) : null}
      {editing?.status === "checked-out" ? (
        <p class="hint">It is checked out: check it in before changing its status.</p>
      ) : null}
      <TextArea label="Notes" value={notes} onValue={setNotes} rows={3} />
      <div class="actions">
        <button type="submit" class="button" disabled={props.action.busy}>
          {editing ? "Save device" : "Add device"}
        </button>
        <button type="button" class="button secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
