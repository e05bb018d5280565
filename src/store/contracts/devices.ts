import type { DeviceRecord } from "../../core/devices.js";

export interface DeviceStore {
  /** False when the id is taken. */
  insert(device: DeviceRecord): Promise<boolean>;
  find(id: string): Promise<DeviceRecord | null>;
  /** Every device, oldest first (a registry holds dozens, not thousands). */
  list(): Promise<DeviceRecord[]>;
  /** Writes `next` only if the row is still as `previous` (updated_at and status): false on a concurrent change. */
  update(previous: DeviceRecord, next: DeviceRecord): Promise<boolean>;
  /** Sets reminded_on to `day` only if it is not already `day`: true for the one caller that should send. */
  claimReminder(id: string, day: string): Promise<boolean>;
}
