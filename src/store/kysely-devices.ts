import type { Kysely, Selectable } from "kysely";
import type { DeviceRecord } from "../core/devices.js";
import type { Database, DeviceTable } from "./schema.js";
import type { DeviceStore } from "./store.js";

export class KyselyDeviceStore implements DeviceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(device: DeviceRecord): Promise<boolean> {
    const result = await this.db
      .insertInto("devices")
      .values(rowOf(device))
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async find(id: string): Promise<DeviceRecord | null> {
    const row = await this.db.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? deviceOf(row) : null;
  }

  async list(): Promise<DeviceRecord[]> {
    const rows = await this.db
      .selectFrom("devices")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(deviceOf);
  }

  async update(previous: DeviceRecord, next: DeviceRecord): Promise<boolean> {
    const { id: _id, created_at: _created, ...changes } = rowOf(next);
    const result = await this.db
      .updateTable("devices")
      .set(changes)
      .where("id", "=", previous.id)
      .where("updated_at", "=", previous.updatedAt)
      .where("status", "=", previous.status)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async claimReminder(id: string, day: string): Promise<boolean> {
    const result = await this.db
      .updateTable("devices")
      .set({ reminded_on: day })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("reminded_on", "is", null), eb("reminded_on", "!=", day)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function rowOf(device: DeviceRecord): DeviceTable {
  return {
    id: device.id,
    kind: device.kind,
    serial: device.serial,
    label: device.label,
    protects: JSON.stringify(device.protects),
    location: device.location,
    custodian: device.custodian,
    battery_expires: device.batteryExpires,
    review_by: device.reviewBy,
    notes: device.notes,
    status: device.status,
    access_rule: device.accessRule,
    checked_out_by: device.checkedOutBy,
    checked_out_at: device.checkedOutAt,
    checkout_reason: device.checkoutReason,
    reminded_on: device.remindedOn,
    created_at: device.createdAt,
    updated_at: device.updatedAt,
  };
}

function deviceOf(row: Selectable<DeviceTable>): DeviceRecord {
  return {
    id: row.id,
    kind: row.kind,
    serial: row.serial,
    label: row.label,
    protects: JSON.parse(row.protects),
    location: row.location,
    custodian: row.custodian,
    batteryExpires: row.battery_expires,
    reviewBy: row.review_by,
    notes: row.notes,
    status: row.status,
    accessRule: row.access_rule,
    checkedOutBy: row.checked_out_by,
    checkedOutAt: row.checked_out_at,
    checkoutReason: row.checkout_reason,
    remindedOn: row.reminded_on,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
