import type { NodeCondition } from "../node/node-condition.js";
import type { DeliveryObserver } from "./transport.js";

/** The health cause while a destination is behind (node-condition.ts). */
export const DELIVERY_BEHIND = "delivery_behind";
/** A destination whose oldest undelivered item is older than this is reported (config `delivery_warn_after_seconds`). */
export const DEFAULT_WARN_AFTER_SECONDS = 300;

/**
 * Passes what the workers measure on (the metrics), and keeps a health warning while a
 * destination has something undelivered for longer than `warnAfterSeconds`: `status` and the UI
 * show it, and it clears once the destination caught up.
 */
export class DeliveryHealth implements DeliveryObserver {
  private readonly behind = new Map<string, { items: number; oldestSeconds: number }>();

  constructor(
    private readonly next: DeliveryObserver,
    private readonly condition: NodeCondition,
    private readonly warnAfterSeconds: number,
  ) {}

  delivered(destination: string, items: number): void {
    this.next.delivered(destination, items);
  }

  failed(destination: string): void {
    this.next.failed(destination);
  }

  deadLettered(destination: string, items: number): void {
    this.next.deadLettered(destination, items);
  }

  backlog(destination: string, items: number, oldestSeconds: number | null): void {
    this.next.backlog(destination, items, oldestSeconds);
    if (oldestSeconds !== null && oldestSeconds > this.warnAfterSeconds)
      this.behind.set(destination, { items, oldestSeconds });
    else this.behind.delete(destination);
    this.report();
  }

  /** A removed destination is no longer behind. */
  forget(destination: string): void {
    this.behind.delete(destination);
    this.report();
  }

  private report(): void {
    if (this.behind.size === 0) {
      this.condition.clear(DELIVERY_BEHIND);
      return;
    }
    const which = [...this.behind]
      .map(
        ([destination, { items, oldestSeconds }]) =>
          `${destination} has ${items} undelivered, the oldest ${Math.round(oldestSeconds)} s old`,
      )
      .join("; ");
    this.condition.set(DELIVERY_BEHIND, "warning", `notifications or audit sinks behind: ${which}`);
  }
}
