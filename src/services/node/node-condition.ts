import { type Clock, systemClock } from "../../core/clock.js";
/**
 * What this node's health says besides the seal: the conditions that keep it from serving
 * (`blocking`: GET /v1/sys/health answers 503, as when sealed, so a load balancer takes it out of
 * the pool) and those worth a look that do not (`warning`: health stays 200 and lists them).
 *
 * One entry per `cause`, a short stable name (`storage_write`, `clock_skew`) that is also the
 * label of the `breakglass_node_condition` gauge. Whoever sets a cause clears it once it is over;
 * setting it again only updates its message (and its kind), keeping the time it began.
 */

export type ConditionKind = "blocking" | "warning";

export interface Condition {
  cause: string;
  kind: ConditionKind;
  /** For the operator, in plain words: shown by health, `breakglass status` and the UI. Never a secret. */
  message: string;
  /** When this cause began (kept across updates of its message). */
  since: Date;
}

export class NodeCondition {
  private readonly conditions = new Map<string, Condition>();

  /** `clock` stamps `since` (tests give their own). */
  constructor(private readonly clock: Clock = systemClock) {}

  set(cause: string, kind: ConditionKind, message: string): void {
    const since = this.conditions.get(cause)?.since ?? new Date(this.clock.now());
    this.conditions.set(cause, { cause, kind, message, since });
  }

  clear(cause: string): void {
    this.conditions.delete(cause);
  }

  has(cause: string): boolean {
    return this.conditions.has(cause);
  }

  /** Every condition, oldest first. */
  current(): Condition[] {
    return [...this.conditions.values()].sort((a, b) => a.since.getTime() - b.since.getTime());
  }

  /** True while a blocking condition holds: health answers 503. */
  get blocked(): boolean {
    return this.current().some((condition) => condition.kind === "blocking");
  }
}

/** A condition as health and seal-status show it: `since` in ISO 8601. */
export interface ConditionView {
  cause: string;
  message: string;
  since: string;
}

/** The conditions of one kind as health and seal-status list them (`problems`, `warnings`). */
export function conditionViews(condition: NodeCondition, kind: ConditionKind): ConditionView[] {
  return condition
    .current()
    .filter((c) => c.kind === kind)
    .map(({ cause, message, since }) => ({ cause, message, since: since.toISOString() }));
}
