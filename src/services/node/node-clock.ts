import { performance } from "node:perf_hooks";
import type { Clock } from "../../core/clock.js";
import type { SinkLog } from "../delivery/transport.js";
import type { NodeCondition } from "./node-condition.js";

/**
 * Time as this node may trust it.
 *
 * `now()` is for decisions a clock set back must not undo, such as a token's expiry: the system
 * clock, but never before the latest time this node has seen — its own earlier readings, and the
 * audit chain's head (read at every unseal, so a restart with the clock set back does not bring an
 * expired token back to life). Codes are made from the system clock as it is: a floor would keep
 * them wrong for as long as a clock that ran ahead had been ahead.
 *
 * `check()` (which watches this machine's own clock, Date.now, whatever clock services are given) notices a clock that jumps (the wall clock moved unlike the monotonic one) and one that
 * disagrees with the database's (PostgreSQL's `now()`: every node of a cluster against the same
 * clock), for health, status and metrics. A wrong clock means wrong codes, so it is said loudly.
 */
export class NodeClock implements Clock {
  private floorMs = 0;
  private lastWall = Date.now();
  private lastMonotonic = performance.now();
  private lastCheck = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | null = null;
  private skew: { ms: number; at: number } | null = null;
  private lastJump: { byMs: number; at: number } | null = null;
  /** Jumps seen since start (a Prometheus counter). */
  jumps = 0;

  private timer: NodeJS.Timeout | null = null;
  private said: string | null = null;

  constructor(
    /** The time services read: NodeClock never answers before it has seen. */
    private readonly time: Clock,
    /** The database's clock in ms since the epoch, or null when it shares this machine's (SQLite). */
    private readonly databaseTime: () => Promise<number | null>,
    private readonly log: SinkLog,
    /** Where health, status and the metrics learn of a wrong clock: the warning `clock`. */
    private readonly condition: NodeCondition,
  ) {}

  /** Looks every half minute (a slow drift needs no more), and logs when a warning starts or ends. */
  start(): void {
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  now(): number {
    const wall = this.time.now();
    if (wall > this.floorMs) this.floorMs = wall;
    return this.floorMs;
  }

  /** A time seen on the audit chain: this node's now is never before it. */
  sawChainTime(time: string): void {
    const ms = Date.parse(time);
    if (ms > this.floorMs) this.floorMs = ms;
  }

  /** Looks at the clock again, at most once a second however often it is asked; never throws. */
  check(): Promise<void> {
    if (this.checking) return this.checking;
    if (performance.now() - this.lastCheck < MIN_CHECK_INTERVAL_MS) return Promise.resolve();
    this.checking = this.measure().finally(() => {
      this.lastCheck = performance.now();
      this.checking = null;
      this.logChange();
    });
    return this.checking;
  }

  /** Seconds the database's clock is ahead of this node's (negative: behind), when known. */
  skewSeconds(): number | null {
    return this.skew === null ? null : this.skew.ms / 1000;
  }

  /** What is wrong with this node's clock now, in words a person at 3 a.m. can act on; null when nothing is. */
  warning(): string | null {
    const problems: string[] = [];
    if (this.skew !== null && Math.abs(this.skew.ms) > SKEW_WARNING_MS)
      problems.push(
        `this node's clock is ${seconds(Math.abs(this.skew.ms))} ${this.skew.ms > 0 ? "behind" : "ahead of"} the database's: codes it gives may be wrong; fix its time (NTP)`,
      );
    if (this.lastJump !== null && performance.now() - this.lastJump.at < JUMP_REMEMBERED_MS)
      problems.push(
        `this node's clock jumped ${this.lastJump.byMs > 0 ? "forward" : "back"} by ${seconds(Math.abs(this.lastJump.byMs))} ${ago(performance.now() - this.lastJump.at)}: check its time (NTP)`,
      );
    return problems.length > 0 ? problems.join("; ") : null;
  }

  /** The condition kept current; one log line when the clock goes wrong, one when it is right again. */
  private logChange(): void {
    const warning = this.warning();
    if (warning === null) this.condition.clear(CONDITION);
    else this.condition.set(CONDITION, "warning", warning);
    if ((warning === null) === (this.said === null)) return;
    if (warning !== null) this.log.warn({ skew_seconds: this.skewSeconds() }, `clock: ${warning}`);
    else this.log.info({ skew_seconds: this.skewSeconds() }, "clock: this node's clock agrees again");
    this.said = warning;
  }

  private async measure(): Promise<void> {
    const wall = Date.now();
    const monotonic = performance.now();
    const driftMs = wall - this.lastWall - (monotonic - this.lastMonotonic);
    this.lastWall = wall;
    this.lastMonotonic = monotonic;
    const skew = await this.measureSkew();
    // Both findings at once, so no answer says one without the other.
    if (Math.abs(driftMs) > JUMP_MS) {
      this.jumps += 1;
      this.lastJump = { byMs: driftMs, at: monotonic };
    }
    if (skew !== null) this.skew = skew;
  }

  /** The database's clock against this node's, or null when unknown (SQLite, a slow answer, no answer). */
  private async measureSkew(): Promise<{ ms: number; at: number } | null> {
    try {
      const before = Date.now();
      const database = await this.databaseTime();
      const after = Date.now();
      // A slow answer says little about the clocks: keep the last good measure.
      if (database === null || after - before > MAX_ROUND_TRIP_MS) return null;
      return { ms: database - (before + after) / 2, at: performance.now() };
    } catch {
      return null; // the database being away is health's business (storage_reachable), not the clock's
    }
  }
}

const CONDITION = "clock";
const CHECK_EVERY_MS = 30_000;
const MIN_CHECK_INTERVAL_MS = 1000;
/** Clocks kept by NTP agree within milliseconds; two seconds apart is a clock that is wrong. */
const SKEW_WARNING_MS = 2000;
const JUMP_MS = 2000;
/** How long a jump is still said after it happened: long enough for a person to notice it. */
const JUMP_REMEMBERED_MS = 15 * 60 * 1000;
const MAX_ROUND_TRIP_MS = 1000;

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function ago(ms: number): string {
  return ms < 60_000 ? "just now" : `${Math.round(ms / 60_000)} min ago`;
}
