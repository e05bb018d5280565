import { randomUUID } from "node:crypto";
import { type Clock, isoTime } from "../../core/clock.js";
import { type DeviceRecord, type DueReason, dayOf, dueReasons } from "../../core/devices.js";
import type { Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import { describeError, type SinkLog } from "../audit/sinks/sink-queue.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { Notifier } from "../notify/events.js";
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
 * Reminders for physical devices: a battery or review coming due, a device not brought back. At
 * most one `device.reminder` per device per UTC day, whatever the nodes and restarts: the store's
 * claimReminder lets one caller a day through. Runs at start, every hour, and at unseal; a sealed
 * node sends nothing (its webhooks cannot sign) and leaves the day's reminder to an unsealed one.
 */
export class DeviceReminders {
  private readonly windowDays: number;
  private readonly checkoutLimitHours: number;
  private readonly timer: PeriodicRefresh;

  constructor(
    private readonly store: Store,
    private readonly seal: SealService,
    private readonly audit: AuditLog,
    private readonly notifier: Notifier,
    private readonly clock: Clock,
    settings: DeviceReminderSettings,
    private readonly log: SinkLog,
  ) {
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

  /** Sends today's reminders (as of `now`) not yet sent by any node; returns the devices reminded. */
  async run(now: Date): Promise<string[]> {
    if (this.seal.isSealed) return [];
    const requestId = `device-reminders-${randomUUID()}`;
    const reminded: string[] = [];
    try {
      for (const device of await this.store.devices.list()) {
        const text = this.reminderText(device, now);
        if (text === null || !(await this.store.devices.claimReminder(device.id, dayOf(now)))) continue;
        this.notifier.notify({
          type: "device.reminder",
          time: now.toISOString(),
          actor: "breakglass",
          text,
          requestId,
        });
        reminded.push(device.id);
      }
    } finally {
      // Also after a failure part-way: what was sent is on the record.
      if (reminded.length > 0) await this.record(reminded, now, requestId);
    }
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

  /** One entry per run that sent something, by the system: nobody asked for it. */
  private async record(deviceIds: string[], now: Date, requestId: string): Promise<void> {
    try {
      await this.audit.append({
        time: isoTime(this.clock),
        actor: "system",
        action: "devices.reminders",
        target: "devices",
        outcome: "allowed",
        reason: null,
        request_id: requestId,
        remote_addr: null,
        user_agent: null,
        approval_ids: [],
        details: { count: deviceIds.length, devices: deviceIds.join(","), day: dayOf(now) },
      });
    } catch (error) {
      this.log.warn({ problem: describeError(error) }, "device reminders sent but not recorded");
    }
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
