import { CheckboxGroup, RadioGroup } from "./fields.js";

/** Which notification events a channel gets: all ("*") or a list (src/services/notify/events.ts). */
export type EventFilter = "*" | string[];

const EVENTS = [
  { value: "code.read", label: "code.read: someone read a code" },
  { value: "approval.requested", label: "approval.requested: someone asks to read" },
  { value: "approval.decided", label: "approval.decided: a request was approved or denied" },
  { value: "seal", label: "seal: breakglass was sealed" },
  { value: "unseal", label: "unseal: breakglass was unsealed" },
  { value: "login.locked", label: "login.locked: repeated failed logins" },
  { value: "passkeys.reset", label: "passkeys.reset: an admin removed someone's passkeys" },
  { value: "custody", label: "custody: bus factor, drills, rekeys" },
  { value: "root.generated", label: "root.generated: a new root token was made" },
  { value: "seed.exported", label: "seed.exported: a seed left breakglass, encrypted" },
  { value: "device.checkout", label: "device.checkout: a device left or came back to the safe" },
  { value: "device.reminder", label: "device.reminder: a battery or review is due" },
];

export function describeEvents(filter: EventFilter): string {
  return filter === "*" ? "all events" : filter.join(", ");
}

export function EventFilterField(props: { value: EventFilter; onValue: (value: EventFilter) => void }) {
  return (
    <>
      <RadioGroup
        legend="Events"
        options={[
          { value: "all", label: "All events, including those added later" },
          { value: "some", label: "Only these:" },
        ]}
        value={props.value === "*" ? "all" : "some"}
        onValue={(choice) => props.onValue(choice === "all" ? "*" : [])}
      />
      {props.value === "*" ? null : (
        <CheckboxGroup
          legend="Events to send"
          options={EVENTS}
          selected={props.value}
          onSelected={props.onValue}
        />
      )}
    </>
  );
}
