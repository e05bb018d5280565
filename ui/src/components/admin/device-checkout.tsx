import { useEffect, useRef, useState } from "preact/hooks";
import { data } from "../../api.js";
import { Field } from "../field.js";
import { KIND_LABELS } from "./device-labels.js";
import type { Device } from "./device-types.js";
import type { Action } from "./outcome.js";

/** Takes a device out of the safe (a reason always; an approval when its rule asks) or puts it back. */
export function DeviceCheckout(props: {
  device: Device;
  direction: "checkout" | "checkin";
  action: Action;
  onDone: () => void;
  onCancel: () => void;
}) {
  const { device, direction } = props;
  const [reason, setReason] = useState("");
  const [approval, setApproval] = useState("");
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const submit = (event: Event) => {
    event.preventDefault();
    void props.action.run(async () => {
      const body = {
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        ...(approval.trim() ? { approval: approval.trim() } : {}),
      };
      await data<Device>("POST", `/v1/devices/${encodeURIComponent(device.id)}/${direction}`, body);
      props.onDone();
      return direction === "checkout"
        ? `${device.label} is checked out to you.`
        : `${device.label} is back in the safe.`;
    });
  };
  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="checkout-heading">
      <h3 id="checkout-heading" ref={heading} tabIndex={-1}>
        {direction === "checkout" ? `Check out ${device.label}` : `Check in ${device.label}`}
      </h3>
      <p class="hint">
        {KIND_LABELS[device.kind]}, serial {device.serial}, kept at {device.location} ({device.custodian}).
        {direction === "checkin" && device.checked_out_by ? ` Checked out by ${device.checked_out_by}.` : ""}
      </p>
      <Field
        label="Reason"
        value={reason}
        onValue={setReason}
        required={direction === "checkout"}
        hint={
          direction === "checkout"
            ? "Why it leaves the safe: goes on the audit log and to the team"
            : "Optional"
        }
      />
      {direction === "checkout" && device.access_rule ? (
        <Field
          label="Approval ID"
          value={approval}
          onValue={setApproval}
          hint={`Only if the access rule of ${device.access_rule} needs an approval: request one from its credential page`}
        />
      ) : null}
      <div class="actions">
        <button type="submit" class="button" disabled={props.action.busy}>
          {direction === "checkout" ? "Check out" : "Check in"}
        </button>
        <button type="button" class="button secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
