import type { DeviceRecord } from "../../src/core/devices.js";
import type { TestServer } from "./server.js";

/** Device records made directly, not through the registry's API: for tests of what reads them. */

let made = 0;

/** An in-safe hardware token in Safe A, nothing due, with a fresh id, serial and label. */
export function deviceRecord(fields: Partial<DeviceRecord> = {}): DeviceRecord {
  made++;
  return {
    id: `dev-${made.toString(16).padStart(12, "0")}`,
    kind: "hardware-totp",
    serial: `SN-${1000 + made}`,
    label: `Token ${made}`,
    protects: [],
    location: "Safe A, London",
    custodian: "alice",
    batteryExpires: null,
    reviewBy: null,
    notes: "",
    status: "in-safe",
    accessRule: null,
    checkedOutBy: null,
    checkedOutAt: null,
    checkoutReason: null,
    remindedOn: null,
    createdAt: "2031-01-01T00:00:00.000Z",
    updatedAt: "2031-01-01T00:00:00.000Z",
    ...fields,
  };
}

/** Stores a device record in a test server's store, as the registry would. */
export async function addDevice(t: TestServer, fields: Partial<DeviceRecord>): Promise<DeviceRecord> {
  const device = deviceRecord(fields);
  if (!(await t.server.services.store.devices.insert(device))) throw new Error(`device ${device.id} exists`);
  return device;
}
