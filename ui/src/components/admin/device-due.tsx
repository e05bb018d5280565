import type { Device, DueReason } from "./device-types.js";

/**
 * When a device's battery or review falls due, in words and colour both: overdue in the danger
 * colour, due within 60 days in the warning style. Days are counted in UTC, as the server does.
 */

const SOON_DAYS = 60;
const DAY_MS = 86_400_000;

function daysFromToday(date: string, now = new Date()): number {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((Date.parse(`${date}T00:00:00Z`) - today) / DAY_MS);
}

const days = (n: number) => (n === 1 ? "1 day" : `${n} days`);

export function duePhrase(reason: DueReason): string {
  const n = reason.days_left;
  if (reason.what === "battery") {
    if (n < 0) return `battery expired ${days(-n)} ago`;
    return n === 0 ? "battery expires today" : `battery expires in ${days(n)}`;
  }
  if (n < 0) return `review ${days(-n)} overdue`;
  return n === 0 ? "review due today" : `review due in ${days(n)}`;
}

export function dueClass(daysLeft: number): string {
  if (daysLeft < 0) return "due due-overdue";
  return daysLeft <= SOON_DAYS ? "due due-soon" : "due";
}

/** The device's dates, as the server counted them (with due_within) or counted here. */
export function datesOf(device: Device): DueReason[] {
  if (device.due) return device.due;
  const reasons: DueReason[] = [];
  if (device.battery_expires)
    reasons.push({
      what: "battery",
      date: device.battery_expires,
      days_left: daysFromToday(device.battery_expires),
    });
  if (device.review_by)
    reasons.push({ what: "review", date: device.review_by, days_left: daysFromToday(device.review_by) });
  return reasons;
}

/** The dates as a list; lost and retired devices are never due, so theirs are plain. */
export function DueDates(props: { reasons: DueReason[]; status: string }) {
  if (props.reasons.length === 0) return <span class="muted">no date</span>;
  const counts = props.status !== "lost" && props.status !== "retired";
  return (
    <ul class="plain-list">
      {props.reasons.map((reason) => (
        <li key={reason.what} class={counts ? dueClass(reason.days_left) : undefined}>
          {counts ? duePhrase(reason) : reason.what} <span class="due-date">({reason.date})</span>
        </li>
      ))}
    </ul>
  );
}
