import { badInput } from "./errors.js";

/**
 * Physical MFA devices kept outside breakglass (a hardware TOTP token in the safe, FIDO keys,
 * a phone, paper recovery codes): what they are, where, who holds the safe, and when a battery
 * dies or a review is due. Pure rules; the service and store keep the records.
 */

export const DEVICE_KINDS = ["hardware-totp", "fido2", "phone", "paper-recovery-codes", "other"] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const DEVICE_STATUSES = ["in-safe", "checked-out", "lost", "retired"] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export interface DeviceRecord {
  /** `dev-` and 12 hex digits, made by the server. */
  id: string;
  kind: DeviceKind;
  serial: string;
  label: string;
  /** Credential names (breakglass keys) and/or free-text account names. */
  protects: string[];
  location: string;
  custodian: string;
  /** Calendar dates, YYYY-MM-DD, or null. */
  batteryExpires: string | null;
  reviewBy: string | null;
  notes: string;
  status: DeviceStatus;
  /** A credential whose access rule governs check-out (readers, approvals, reason); null: admins and operators. */
  accessRule: string | null;
  checkedOutBy: string | null;
  checkedOutAt: string | null;
  checkoutReason: string | null;
  /** The last UTC day a reminder was sent for this device: one a day at most. */
  remindedOn: string | null;
  createdAt: string;
  updatedAt: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date as typed (YYYY-MM-DD), checked to exist (no 2027-02-30). */
export function parseDate(text: string, what: string): string {
  const match = DATE.exec(text.trim());
  const date = match ? new Date(`${match[0]}T00:00:00Z`) : null;
  if (!match || !date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== match[0])
    throw badInput(`${what} must be a date as YYYY-MM-DD, such as 2027-03-31`);
  return match[0];
}

const WINDOW = /^(\d{1,4})([dw])$/;

/** A window such as `60d` or `8w`, in days (at most 3660). */
export function parseWindowDays(text: string, what = "due_within"): number {
  const match = WINDOW.exec(text.trim());
  const days = match ? Number(match[1]) * (match[2] === "w" ? 7 : 1) : Number.NaN;
  if (!match || days > 3660) throw badInput(`${what} must be a number of days or weeks, such as 60d or 8w`);
  return days;
}

/** The UTC calendar day of `now`, YYYY-MM-DD. */
export function dayOf(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export interface DueReason {
  what: "battery" | "review";
  date: string;
  /** Negative when already past. */
  daysLeft: number;
}

/** Why a device is due within `windowDays` of `now` (battery, review, or both); retired and lost devices never are. */
export function dueReasons(device: DeviceRecord, now: Date, windowDays: number): DueReason[] {
  if (device.status === "retired" || device.status === "lost") return [];
  const today = Date.parse(`${dayOf(now)}T00:00:00Z`);
  const reasons: DueReason[] = [];
  for (const [what, date] of [
    ["battery", device.batteryExpires],
    ["review", device.reviewBy],
  ] as const) {
    if (date === null) continue;
    const daysLeft = Math.round((Date.parse(`${date}T00:00:00Z`) - today) / 86_400_000);
    if (daysLeft <= windowDays) reasons.push({ what, date, daysLeft });
  }
  return reasons;
}
