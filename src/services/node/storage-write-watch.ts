import { BreakglassError } from "../../core/errors.js";
import { describeStorageFault } from "../../store/storage-faults.js";
import type { NodeCondition } from "./node-condition.js";

/** The node condition set while the store refuses writes (node-condition.ts). */
export const STORAGE_WRITE = "storage_write";

export interface StorageWriteLog {
  error(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export interface StorageWriteWatchSettings {
  condition: NodeCondition;
  log: StorageWriteLog;
  /**
   * Finds out whether the store takes writes again, adding nothing to the audit chain
   * (Store.probeWrite, then an append of no entries through the chain's lock).
   */
  probe: () => Promise<void>;
  /** SQLite's data directory: a full disk behind an I/O error is then called by its name. */
  dataDir?: string;
  /** At most one log line per kind of fault this often (default 10 s). */
  logEveryMs?: number;
  /** How often the probe runs while writes fail (default 2 s). */
  probeEveryMs?: number;
  /** The clock, in milliseconds (tests give their own). */
  now?: () => number;
}

/** What a failed write was for, as its log line says. */
export type FailedWrite = "audit commit" | "store write";

interface LogWindow {
  lastLineAt: number;
  suppressed: number;
}

/**
 * Turns failed store writes into one blocking node condition (health 503, the cause in its body),
 * one log line per kind of fault per interval with the count of those left out, and a probe that
 * clears the condition by itself once a write goes through again, with no request needed.
 */
export class StorageWriteWatch {
  private failures = 0;
  private since = 0;
  private readonly windows = new Map<string, LogWindow>();
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  private readonly logEveryMs: number;
  private readonly probeEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly settings: StorageWriteWatchSettings) {
    this.logEveryMs = settings.logEveryMs ?? 10_000;
    this.probeEveryMs = settings.probeEveryMs ?? 2_000;
    this.now = settings.now ?? Date.now;
  }

  /**
   * A write failed. An audit commit that failed blocks the node whatever the reason (code reads
   * cannot be served); another write does only when the machine is the cause (a full disk…).
   * Returns the fault in plain words, when it is one.
   */
  failed(error: unknown, what: FailedWrite): string | null {
    const fault = describeStorageFault(error, this.settings.dataDir);
    if (!fault && what !== "audit commit") return null;
    if (this.failures === 0) this.since = this.now();
    this.failures++;
    // Health is seen by anyone: our own words (a fault, "storage unavailable…"), never a driver's.
    this.block(fault?.text ?? (error instanceof BreakglassError ? error.message : "see the server log"));
    this.logThrottled(
      `${what}:${fault?.reason ?? "other"}`,
      () => ({
        err: { message: fault?.text ?? messageOf(error), code: codeOf(error) },
        ...(fault ? { reason: fault.reason } : {}),
      }),
      `${what} failed: requests refused`,
    );
    return fault?.text ?? null;
  }

  /** A write went through: the condition is over. */
  succeeded(by: "commit" | "probe" = "commit"): void {
    if (this.failures === 0) return;
    const suppressed = [...this.windows.values()].reduce((sum, window) => sum + window.suppressed, 0);
    this.settings.log.info(
      { failures: this.failures, suppressed, seconds: (this.now() - this.since) / 1000, by },
      "storage writes succeed again: requests served",
    );
    this.failures = 0;
    this.windows.clear();
    this.settings.condition.clear(STORAGE_WRITE);
    this.stopProbing();
  }

  stop(): void {
    this.stopProbing();
  }

  /** The first line of a kind at once; then one per interval, with how many were left out. */
  private logThrottled(kind: string, fields: () => object, message: string): void {
    const now = this.now();
    const window = this.windows.get(kind);
    if (window && now - window.lastLineAt < this.logEveryMs) {
      window.suppressed++;
      return;
    }
    this.settings.log.error(
      { ...fields(), failures: this.failures, suppressed: window?.suppressed ?? 0 },
      message,
    );
    this.windows.set(kind, { lastLineAt: now, suppressed: 0 });
  }

  private block(reason: string): void {
    this.settings.condition.set(
      STORAGE_WRITE,
      "blocking",
      `the store refuses writes: ${reason}; requests that write or read a code are refused until it takes them again`,
    );
    this.startProbing();
  }

  private startProbing(): void {
    if (this.probeTimer) return;
    this.probeTimer = setInterval(() => void this.probeOnce(), this.probeEveryMs);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.settings.probe();
      this.succeeded("probe");
    } catch (error) {
      // Still failing: the condition says why now; requests, not probes, are counted and logged.
      const fault = describeStorageFault(error, this.settings.dataDir);
      if (fault) this.block(fault.text);
    } finally {
      this.probing = false;
    }
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
