import { randomUUID } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { type DeviceRecord, type DueReason, dayOf, dueReasons } from "../../core/devices.js";
import type { Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import { ClusterDuty } from "../delivery/leases.js";
import type { SinkLog } from "../delivery/transport.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { SealService } from "../seal/seal.js";

export interface DeviceReminderSettings {
  /** A battery or review due within this many days is reminded of (default 30). */
  windowDays?: number;
  /** A device checked out for longer than this is reminded of (default 24). */
  checkoutLimitHours?: number;
  /** How often the devices are looked at (default an hour). */
  checkEveryMs?: number;
}

export const DEFAULT_REMINDER_WINDOW_DAYS = 30;
export const DEFAULT_CHECKOUT_LIMIT_HOURS = 24;
const HOUR_MS = 3_600_000;

/**
 * Reminders for physical devices: a battery or review coming due, a device not brought back. One
 * `device.reminder` per device per UTC day for the cluster, whatever the nodes and restarts (a
 * cluster duty, and the day stored on the device once told). Runs at start, every hour, and at
 * unseal; a sealed node leaves the day's reminders to an unsealed one.
 */
export class DeviceReminders {
  private readonly windowDays: number;
  private readonly checkoutLimitHours: number;
  private readonly timer: PeriodicRefresh;
  private readonly duty: ClusterDuty;

  constructor(
    private readonly store: Store,
    private readonly seal: SealService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    settings: DeviceReminderSettings,
    log: SinkLog,
  ) {
    this.duty = new ClusterDuty(store.delivery, "device-reminders");
    this.windowDays = settings.windowDays ?? DEFAULT_REMINDER_WINDOW_DAYS;
    this.checkoutLimitHours = settings.checkoutLimitHours ?? DEFAULT_CHECKOUT_LIMIT_HOURS;
    this.timer = new PeriodicRefresh(
      "device reminders",
      settings.checkEveryMs ?? HOUR_MS,
      async () => {
        await this.run(new Date(this.clock.now()));
      },
      log,
    );
    // After a restart the nodes are sealed: the day's reminders go out at unseal, not an hour later.
    seal.onKeyringOpened(async () => void this.timer.refresh());
  }

  start(): Promise<void> {
    return this.timer.start();
  }

  stop(): Promise<void> {
    return this.timer.stop();
  }

  /**
   * Sends today's reminders (as of `now`) not yet sent; returns the devices reminded. One node at a
   * time decides (a cluster duty); each reminder's entry and event are committed before the device
   * is marked reminded, so a crash in between repeats a reminder and never loses one.
   */
  async run(now: Date): Promise<string[]> {
    if (this.seal.isSealed) return [];
    const reminded: string[] = [];
    const day = dayOf(now);
    await this.duty.run(async () => {
      const requestId = `device-reminders-${randomUUID()}`;
      for (const device of await this.store.devices.list()) {
        const text = this.reminderText(device, now);
        if (text === null || device.remindedOn === day) continue;
        await this.audit.recordBySystem(requestId, {
          action: "devices.reminders",
          target: `devices/${device.id}`,
          outcome: "allowed",
          details: { device: device.id, day },
          notify: { type: "device.reminder", actor: "breakglass", text },
        });
        await this.store.devices.claimReminder(device.id, day);
        reminded.push(device.id);
      }
    });
    return reminded;
  }

  /** The one sentence of a device's reminder, or null when nothing about it is due. */
  reminderText(device: DeviceRecord, now: Date): string | null {
    const due = dueReasons(device, now, this.windowDays).map(dueText);
    const outMs =
      device.status === "checked-out" && device.checkedOutAt !== null
        ? now.getTime() - Date.parse(device.checkedOutAt)
        : 0;
    const overdue = outMs > this.checkoutLimitHours * HOUR_MS;
    if (due.length === 0 && !overdue) return null;
    const checkout = overdue
      ? [
          `checked out by ${device.checkedOutBy ?? "someone"} for ${Math.floor(outMs / HOUR_MS)} hours: bring it back`,
        ]
      : [];
    return `${device.label} (serial ${device.serial}, kept in ${device.location}, custodian ${device.custodian}): ${[...due, ...checkout].join("; ")}.`;
  }
}

function dueText(reason: DueReason): string {
  const what = reason.what === "battery" ? "battery expires" : "review due";
  if (reason.daysLeft === 0) return `${what} today (${reason.date})`;
  const days = Math.abs(reason.daysLeft);
  const plural = days === 1 ? "day" : "days";
  return reason.daysLeft > 0
    ? `${what} ${reason.date}, in ${days} ${plural}`
    : `${what} ${reason.date}, ${days} ${plural} overdue`;
}
