import { performance } from "node:perf_hooks";
import type { AuditEntry } from "../../../core/audit-chain.js";

/** How a sink's entries leave: file, syslog or webhook (or a notification channel: T is what it carries). */
export interface SinkTransport<T = AuditEntry> {
  /** Sends these entries, in order; resolves once the sink acknowledged them (see docs/audit-sinks.md). */
  send(entries: T[]): Promise<void>;
  /**
   * False while it cannot send at all (its credential is sealed): the queue then waits, without
   * counting a failure or an attempt, until `retryNow` or a short poll. Absent means always.
   */
  canSend?(): boolean;
  /** Stops: aborts what is in flight and releases the file or socket. */
  close(): Promise<void>;
}

/** What the sinks report; the Prometheus metrics implement it. */
export interface AuditSinkObserver {
  sinkDelivered(sink: string, entries: number): void;
  sinkFailed(sink: string): void;
  sinkDeadLettered(sink: string, entries: number): void;
  sinkQueueLength(sink: string, entries: number): void;
}

/** Where sinks say that they went down and came back (a pino logger fits). */
export interface SinkLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface QueueSettings {
  /** Entries held at most; beyond it new entries are dropped and counted as dead letters. */
  maxQueue: number;
  /** Entries per send. */
  maxBatch: number;
  /** How long a partial batch waits for more entries, unless a request waits on it. */
  lingerMs: number;
  /** Failed sends of one batch before it is dropped as dead letters (default: retried forever, in order). */
  maxAttempts?: number;
  /** What the queue is called in log lines and errors (default "audit sink"). */
  what?: string;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

interface Queued<T> {
  entry: T;
  /** Requests waiting until this entry (and so every one before it) is acknowledged. */
  waiters: Waiter[];
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** How often a queue whose transport cannot send yet looks again (unsealing also wakes it). */
const NOT_READY_POLL_MS = 1_000;

/**
 * One sink's entries, delivered in order by one worker: a failed send is retried with exponential
 * backoff (0.5 s doubling to 30 s) until it succeeds, so nothing is skipped or reordered (unless
 * `maxAttempts` is set, as for notifications: then a batch is given up on as dead letters). A
 * request that waits on the sink (`required`) hears of a failure at once and makes the worker try
 * again at once instead of sleeping out the backoff.
 */
export class SinkQueue<T = AuditEntry> {
  private items: Queued<T>[] = [];
  private running: Promise<void> | null = null;
  private closing = false;
  private closed = false;
  private failing = false;
  /** Whether this stretch of not being able to send was logged already (once, not every poll). */
  private held = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly transport: SinkTransport<T>,
    private readonly settings: QueueSettings,
    private readonly observer: AuditSinkObserver,
    private readonly log: SinkLog,
    /** Resolves when the sink this one replaces has let go of its file or socket. */
    private readonly ready: Promise<unknown> = Promise.resolve(),
  ) {
    observer.sinkQueueLength(name, 0);
  }

  get length(): number {
    return this.items.length;
  }

  /** Queues entries; with `wait`, the promise settles when the sink acknowledged them or failed. */
  enqueue(entries: T[], wait: boolean): Promise<void> {
    const room = this.closing ? 0 : Math.max(0, this.settings.maxQueue - this.items.length);
    const accepted = entries.slice(0, room);
    const dropped = entries.length - accepted.length;
    if (dropped > 0) {
      this.observer.sinkDeadLettered(this.name, dropped);
      if (!this.closing && !this.failing)
        this.log.warn({ sink: this.name, dropped }, `${this.what} queue full: entries dropped`);
    }
    for (const entry of accepted) this.items.push({ entry, waiters: [] });
    this.observer.sinkQueueLength(this.name, this.items.length);
    let done = Promise.resolve();
    if (wait && dropped > 0) done = Promise.reject(this.failure("its queue is full"));
    else if (wait && accepted.length > 0) {
      const last = this.items[this.items.length - 1] as Queued<T>;
      done = new Promise((resolve, reject) => last.waiters.push({ resolve, reject }));
    }
    this.start();
    if (wait || this.items.length >= this.settings.maxBatch) this.wake?.();
    return done;
  }

  /** Tries at once instead of sleeping out the backoff (the vault was unsealed, say). */
  retryNow(): void {
    this.wake?.();
  }

  /** Sends what is queued for up to `graceMs`, then drops the rest (dead letters) and lets go. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    this.wake?.();
    const deadline = performance.now() + graceMs;
    while (this.running && performance.now() < deadline) await sleep(Math.min(50, graceMs));
    this.closed = true;
    this.wake?.();
    await this.transport.close();
    await this.running;
    if (this.items.length > 0) this.observer.sinkDeadLettered(this.name, this.items.length);
    this.rejectWaiters(this.failure("it was closed"));
    this.items = [];
    this.observer.sinkQueueLength(this.name, 0);
  }

  private get what(): string {
    return this.settings.what ?? "audit sink";
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = this.work().finally(() => {
      this.running = null;
      if (this.items.length > 0 && !this.closed) this.start();
    });
  }

  private async work(): Promise<void> {
    await this.ready;
    let retryMs = FIRST_RETRY_MS;
    let attempts = 0;
    while (this.items.length > 0 && !this.closed) {
      if (this.transport.canSend && !this.transport.canSend()) {
        if (!this.held)
          this.log.info(
            { sink: this.name, entries: this.items.length },
            `${this.what} held: cannot send while sealed`,
          );
        this.held = true;
        await this.pause(NOT_READY_POLL_MS);
        continue;
      }
      this.held = false;
      const waited = this.items.some((item) => item.waiters.length > 0);
      if (
        !waited &&
        !this.closing &&
        this.settings.lingerMs > 0 &&
        this.items.length < this.settings.maxBatch
      )
        await this.pause(this.settings.lingerMs);
      if (this.closed) return;
      const batch = this.items.slice(0, this.settings.maxBatch);
      try {
        await this.transport.send(batch.map((item) => item.entry));
      } catch (error) {
        if (this.closed) return;
        this.observer.sinkFailed(this.name);
        if (!this.failing)
          this.log.warn({ sink: this.name, problem: describeError(error) }, `${this.what} failing: retrying`);
        this.failing = true;
        this.rejectWaiters(this.failure(describeError(error)));
        attempts += 1;
        if (attempts >= (this.settings.maxAttempts ?? Number.POSITIVE_INFINITY)) {
          // Given up on: later entries are not held back behind one that is never taken.
          attempts = 0;
          this.items.splice(0, batch.length);
          this.observer.sinkDeadLettered(this.name, batch.length);
          this.observer.sinkQueueLength(this.name, this.items.length);
          this.log.warn({ sink: this.name, dropped: batch.length }, `${this.what} gave up: entries dropped`);
          continue;
        }
        await this.pause(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        continue;
      }
      retryMs = FIRST_RETRY_MS;
      attempts = 0;
      if (this.failing) this.log.info({ sink: this.name }, `${this.what} delivering again`);
      this.failing = false;
      // Only appends happen meanwhile (close clears the queue after the worker stopped).
      this.items.splice(0, batch.length);
      this.observer.sinkDelivered(this.name, batch.length);
      this.observer.sinkQueueLength(this.name, this.items.length);
      for (const item of batch) for (const waiter of item.waiters) waiter.resolve();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private rejectWaiters(error: Error): void {
    for (const item of this.items) {
      for (const waiter of item.waiters) waiter.reject(error);
      item.waiters = [];
    }
  }

  private failure(why: string): Error {
    return new Error(`${this.what} ${this.name} did not take the entries: ${why}`);
  }
}

/** An error's message and its cause's (fetch says only "fetch failed"); never headers or bodies. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
