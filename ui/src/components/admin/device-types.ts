/** Physical MFA devices and the coverage report as the API shows them (devices/*, coverage). */

export interface DueReason {
  what: "battery" | "review";
  date: string;
  /** Negative once the date has passed. */
  days_left: number;
}

export interface Device {
  id: string;
  kind: string;
  serial: string;
  label: string;
  protects: string[];
  location: string;
  custodian: string;
  battery_expires: string | null;
  review_by: string | null;
  notes: string;
  status: "in-safe" | "checked-out" | "lost" | "retired";
  access_rule: string | null;
  checked_out_by: string | null;
  checked_out_at: string | null;
  checkout_reason: string | null;
  /** Only in an answer to a list with due_within. */
  due?: DueReason[];
}

export const DEVICE_KINDS = ["hardware-totp", "fido2", "phone", "paper-recovery-codes", "other"];
