import type { DeviceKind, DeviceStatus } from "../../../../src/core/devices.js";

/**
 * The words a person uses for the registry's kinds and statuses, in one place for every screen.
 * The wire keeps the API's values (`in-safe`, `virtual-mfa`); typed by core's lists, so a kind
 * or status added there fails the build here until it has its words.
 */

export const KIND_LABELS: Record<DeviceKind | "virtual-mfa", string> = {
  "hardware-totp": "Hardware TOTP token",
  fido2: "FIDO2 security key",
  phone: "Phone",
  "paper-recovery-codes": "Paper recovery codes",
  other: "Other",
  "virtual-mfa": "Virtual MFA app",
};

export const STATUS_LABELS: Record<DeviceStatus | "in-breakglass", string> = {
  "in-safe": "In the safe",
  "checked-out": "Checked out",
  lost: "Lost",
  retired: "Retired",
  "in-breakglass": "Kept in breakglass",
};

/** A wire value in words; an unknown one (a newer server) as it is. */
export function labelOf(labels: Record<string, string>, value: string): string {
  return labels[value] ?? value;
}
