// Over 400 lines: one destination's whole delivery — lease, position, retries, dead letters, waiting requests — read in one place.
import type { DeadLetterRecord, DeliveryStore } from "../../store/store.js";
import { LEASE_MS, newHolder } from "./leases.js";
import { type DeliveryObserver, describeError, type SinkLog, type SinkTransport } from "./transport.js";

/** What a destination reads, in seq order: the notification outbox or the audit chain. */
export interface DeliverySource<T> {
  kind: "outbox" | "audit";
  after(position: number, limit: number): Promise<{ seq: number; item: T }[]>;
  /** Where a destination seen for the first time starts: now, not the whole history. */
  head(): Promise<number>;
  /** The item as a dead letter keeps it, and back. */
  toPayload(item: T): string;
  fromPayload(payload: string): T;
  /** One line for people listing dead letters. */
  summary(item: T): string;
}

export interface WorkerSettings<T> {
  /** `webhook:NAME`, `smtp`, `sink:NAME`, `sink:NAME@NODE:PATH`. */
  destination: string;
  transport: SinkTransport<T>;
  source: DeliverySource<T>;
  /** Items per send. */
  maxBatch: number;
  /**
   * Once a read has reached the newest item, how long the next read waits for more, unless a
   * request waits on it: one read and one send (one fsync, for a file) for many commits.
   */
  lingerMs: number;
  /** Failed sends of one batch before it becomes dead letters (Infinity: retried in order for ever). */
  maxAttempts: number;
  /** Items the destination does not take are passed over (a channel's event filter). */
  wants?: (item: T) => boolean;
  /** What it is called in log lines: "audit sink", "notification channel". */
  what: string;
}

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
/** How often the lease holder looks for work committed by other nodes (this node's own commits wake it at once). */
const IDLE_POLL_MS = 250;
/** How often a node without the lease, or one that cannot send yet (sealed), looks again. */
const STANDBY_POLL_MS = 1_000;
/** How often a request waiting on a destination another node delivers looks at its position. */
const WAIT_POLL_MS = 50;
/** A request waiting on a required sink is refused after this long (longer than a lease, so a dead holder's successor can answer). */
export const REQUIRED_WAIT_MS = LEASE_MS + 5_000;
/** How often the backlog (gauges, health) is measured. */
const MEASURE_MS = 5_000;
/**
 * How long a delivered position may wait to be written: each write is a commit (an fsync on
 * SQLite's connection, on the event loop), so it is not one per event. A crash meanwhile only
 * sends those events again (at least once).
 */
const SAVE_POSITION_MS = 500;
/** What a send in flight gets to finish when the worker closes. */
const IN_FLIGHT_MS = 1_000;
/** How far ahead items are read when a filter passes many over. */
const READ_AHEAD = 100;
/** What a destination gathers for when nothing says otherwise: unnoticed by people, one read and one send for many commits. */
export const DEFAULT_LINGER_MS = 50;

interface Waiter {
  seq: number;
  deadline: number;
  resolve(): void;
  reject(error: Error): void;
}

type Step = "sent" | "gathered" | "idle" | "standby" | "failed";
/** What ended a pause: its time, a commit (`poke`), or something that will not wait (a request, a redrive, closing). */
type Wake = "time" | "poke" | "urgent";

/** A worker as the deliveries API sees it, whatever it carries. */
export interface WorkerView {
  readonly destination: string;
  readonly isFailing: boolean;
  readonly lastError: string | null;
  /** Where this node has delivered to while it holds the lease (the store's may lag by a moment); null otherwise. */
  readonly heldPosition: number | null;
  redriveRequested(): void;
}

/**
 * Delivers one destination from the store: on every node a worker, but only the holder of the
 * destination's lease sends (leases.ts). It reads what comes after the destination's position,
 * sends it, and moves the position only once the receiver acknowledged: a crash before that means
 * the next holder sends it again (at least once; the seq lets receivers deduplicate). A failed
 * send is retried with backoff (0.5 s doubling to 30 s); after `maxAttempts` the batch is kept as
 * dead letters and the position moves on. Nothing is held only in memory.
 */
export class DeliveryWorker<T> implements WorkerView {
  private readonly lease: string;
  /** This worker, as its lease names it. */
  private readonly holder = newHolder();
  private running: Promise<void> | null = null;
  private closed = false;
  private wake: ((why: Wake) => void) | null = null;
  /** Whether a commit ends the pause under way: not a backoff's, not a gathering's. */
  private commitsWake = true;
  /** The last read reached the newest item: the next one gathers first (lingerMs). */
  private caughtUp = false;
  private held = false;
  private renewAt = 0;
  /** The position as the store has it; `position` runs ahead of it by up to SAVE_POSITION_MS. */
  private stored = 0;
  private saving: NodeJS.Timeout | null = null;
  /** Items read after the position and not yet sent. */
  private readAhead: { seq: number; item: T }[] = [];
  /** Dead letters are looked at after each claim or renewal of the lease, and when asked to redrive. */
  private lookAtLetters = true;
  private position = 0;
  private attempts = 0;
  private failing = false;
  private standingBy = false;
  private storeFailing = false;
  /** Measures the backlog on its own timer: a send that hangs must not freeze the gauges. */
  private measuring: NodeJS.Timeout | null = null;
  private measurement: Promise<void> = Promise.resolve();
  private waiters: Waiter[] = [];
  /** The last failure, for people (GET …/deliveries); null while delivering. */
  lastError: string | null = null;

  constructor(
    private readonly settings: WorkerSettings<T>,
    private readonly store: DeliveryStore,
    private readonly observer: DeliveryObserver,
    private readonly log: SinkLog,
    /** Resolves when the worker this one replaces has let go of its file, socket and lease. */
    private readonly ready: Promise<unknown> = Promise.resolve(),
  ) {
    this.lease = `delivery:${settings.destination}`;
  }

  get destination(): string {
    return this.settings.destination;
  }

  get isFailing(): boolean {
    return this.failing;
  }

  get heldPosition(): number | null {
    return this.held ? this.position : null;
  }

  /**
   * Starts delivering, once the destination's position is in the store: a new destination is owed
   * what is committed from now on (the change that made it has answered), not from its first
   * claim, which may come later. A store that cannot say leaves that to the first claim.
   */
  async start(): Promise<void> {
    await this.store.position(this.destination, await this.settings.source.head()).catch(() => undefined);
    this.running ??= this.run();
    this.measuring ??= setInterval(() => this.measureNow(), MEASURE_MS).unref();
    this.measureNow();
  }

  /** Something was committed: look now rather than at the next poll (a gathering goes on, see lingerMs). */
  poke(): void {
    if (this.commitsWake) this.wake?.("poke");
  }

  /** Dead letters were marked to be sent again: look at them now. */
  redriveRequested(): void {
    this.lookAtLetters = true;
    this.urge();
  }

  /** Look now, even while gathering. */
  private urge(): void {
    this.wake?.("urgent");
  }

  /**
   * Resolves once the destination has everything up to `seq` (a `required` sink); rejects when a
   * send fails meanwhile, or after REQUIRED_WAIT_MS.
   */
  delivered(seq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, deadline: Date.now() + REQUIRED_WAIT_MS, resolve, reject });
      this.urge();
    });
  }

  /**
   * Stops claiming; a send in flight gets IN_FLIGHT_MS to finish, then is aborted (the next holder
   * sends it again); the lease is let go. Nothing waits in memory: the rest is in the store.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.measuring) clearInterval(this.measuring);
    this.urge();
    const stopped = this.running ?? Promise.resolve();
    await Promise.race([stopped, sleep(IN_FLIGHT_MS)]);
    await this.settings.transport.close().catch(() => undefined);
    // A transport may drop a send's callback when closed under it (a UDP socket): not waited for.
    await Promise.race([stopped, sleep(IN_FLIGHT_MS)]);
    await this.letGo();
    this.rejectWaiters(new Error(`${this.settings.what} ${this.destination} was closed`));
  }

  private async run(): Promise<void> {
    await this.ready;
    this.measureNow();
    let retryMs = FIRST_RETRY_MS;
    while (!this.closed) {
      let step: Step;
      try {
        step = await this.step();
        if (this.storeFailing) this.log.info({ sink: this.destination }, "delivery state readable again");
        this.storeFailing = false;
      } catch (error) {
        if (!this.storeFailing)
          this.log.warn(
            { sink: this.destination, problem: describeError(error) },
            "delivery state not readable: retrying",
          );
        this.storeFailing = true;
        step = "standby";
      }
      this.saveSoon(); // a save that failed (the store) is tried again
      if (step === "sent") retryMs = FIRST_RETRY_MS;
      else if (step === "failed") {
        await this.pause(retryMs, false);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      } else if (step === "gathered") continue;
      else if (this.waiters.length > 0) await this.pause(WAIT_POLL_MS);
      else await this.pause(step === "idle" ? IDLE_POLL_MS : STANDBY_POLL_MS);
    }
  }

  private async step(): Promise<Step> {
    const { transport, source, destination } = this.settings;
    if (transport.canSend && !transport.canSend()) {
      // Another node may be able to: this one steps aside until it can.
      await this.letGo();
      if (!this.standingBy)
        this.log.info({ sink: destination }, `${this.settings.what} held: cannot send while sealed`);
      this.standingBy = true;
      await this.settleWaitersFromStore();
      return "standby";
    }
    this.standingBy = false;
    if (!(await this.holdLease())) {
      await this.settleWaitersFromStore();
      return "standby";
    }
    if (this.lookAtLetters) {
      this.lookAtLetters = false;
      const letters = await this.store.redriveDue(destination, this.settings.maxBatch);
      if (letters.length > 0) return this.redrive(letters);
    }
    // What was read ahead is used first: one query for many events, not one each.
    const ahead = this.readAhead.filter((row) => row.seq > this.position);
    if (ahead.length === 0 && this.caughtUp && this.settings.lingerMs > 0 && this.waiters.length === 0) {
      // What follows a commit often comes in the next moments: one read and one send for all of it.
      this.caughtUp = false;
      await this.pause(this.settings.lingerMs, false);
      return "gathered"; // the lease is looked at again before the read
    }
    const limit = Math.max(this.settings.maxBatch, READ_AHEAD);
    const rows = ahead.length > 0 ? ahead : await source.after(this.position, limit);
    if (ahead.length === 0) this.caughtUp = rows.length < limit;
    this.readAhead = rows;
    if (rows.length === 0) {
      this.settleWaiters();
      return "idle";
    }
    const { batch, upTo } = this.batchOf(rows);
    if (batch.length === 0) return (await this.moveTo(upTo)) ? "sent" : "standby";
    try {
      await this.renewingWhile(transport.send(batch.map((row) => row.item)));
    } catch (error) {
      if (this.closed) return "idle";
      return this.failed(error, async () => {
        await this.store.putDeadLetters(batch.map((row) => this.letterOf(row, error)));
        await this.moveTo(upTo);
        return batch.length;
      });
    }
    this.recovered(batch.length);
    return (await this.moveTo(upTo)) ? "sent" : "standby";
  }

  /** The items to send now (at most maxBatch the destination wants) and the position once they are delivered. */
  private batchOf(rows: { seq: number; item: T }[]): { batch: { seq: number; item: T }[]; upTo: number } {
    const { wants, maxBatch } = this.settings;
    const batch: { seq: number; item: T }[] = [];
    for (const row of rows) {
      if (wants && !wants(row.item)) continue;
      batch.push(row);
      if (batch.length === maxBatch) return { batch, upTo: row.seq };
    }
    return { batch, upTo: (rows.at(-1) as { seq: number }).seq };
  }

  /** Letters asked to be sent again: deleted once delivered, dead again after as many attempts. */
  private async redrive(letters: DeadLetterRecord[]): Promise<Step> {
    const items = letters.map((letter) => this.settings.source.fromPayload(letter.payload));
    try {
      await this.renewingWhile(this.settings.transport.send(items));
    } catch (error) {
      if (this.closed) return "idle";
      return this.failed(error, async () => {
        await this.store.putDeadLetters(
          letters.map((letter) => ({
            ...letter,
            error: describeError(error),
            attempts: letter.attempts + this.settings.maxAttempts,
            deadAt: new Date().toISOString(),
            redrive: false,
          })),
        );
        return letters.length;
      });
    }
    for (const letter of letters) await this.store.deleteDeadLetter(this.destination, letter.seq);
    this.recovered(letters.length);
    this.lookAtLetters = true; // more may be waiting
    return "sent";
  }

  /** A send failed: retried after the backoff, or given up on (`giveUp`) after maxAttempts. */
  private async failed(error: unknown, giveUp: () => Promise<number>): Promise<Step> {
    const { destination, what, maxAttempts } = this.settings;
    const problem = describeError(error);
    this.observer.failed(destination);
    if (!this.failing) this.log.warn({ sink: destination, problem }, `${what} failing: retrying`);
    this.failing = true;
    this.lastError = problem;
    this.rejectWaiters(new Error(`${what} ${destination} did not take the entries: ${problem}`));
    this.attempts += 1;
    if (this.attempts < maxAttempts) return "failed";
    this.attempts = 0;
    this.log.warn({ sink: destination, problem }, `${what} gave up: kept as dead letters`);
    this.observer.deadLettered(destination, await giveUp());
    return "sent";
  }

  private recovered(items: number): void {
    this.attempts = 0;
    if (this.failing) this.log.info({ sink: this.destination }, `${this.settings.what} delivering again`);
    this.failing = false;
    this.lastError = null;
    this.observer.delivered(this.destination, items);
  }

  private letterOf(row: { seq: number; item: T }, error: unknown): DeadLetterRecord {
    const { source, maxAttempts } = this.settings;
    return {
      destination: this.destination,
      seq: row.seq,
      payload: source.toPayload(row.item),
      summary: source.summary(row.item),
      error: describeError(error),
      attempts: maxAttempts,
      deadAt: new Date().toISOString(),
      redrive: false,
    };
  }

  /** Takes or renews the lease (every third of its length); a fresh hold reads the position again. */
  private async holdLease(): Promise<boolean> {
    const now = Date.now();
    if (this.held && now < this.renewAt) return true;
    const ok = await this.store.claimLease(this.lease, this.holder, now, now + LEASE_MS);
    if (!ok) {
      if (this.held) this.log.info({ sink: this.destination }, "delivery taken over by another node");
      this.held = false;
      return false;
    }
    // Taken (not renewed): the store's position is the truth (a restore may have started it again).
    if (!this.held) {
      this.readAhead = [];
      this.position = await this.store.position(this.destination, await this.settings.source.head());
      this.stored = this.position;
    }
    this.held = true;
    this.renewAt = now + LEASE_MS / 3;
    this.lookAtLetters = true;
    return true;
  }

  /** A slow send (a sink's timeout may be minutes) keeps the lease: another node does not send the same meanwhile. */
  private async renewingWhile(sending: Promise<void>): Promise<void> {
    const renew = setInterval(() => {
      const now = Date.now();
      this.store.claimLease(this.lease, this.holder, now, now + LEASE_MS).catch(() => false);
    }, LEASE_MS / 3);
    try {
      await sending;
    } finally {
      clearInterval(renew);
    }
  }

  /** Delivered up to `seq`: said at once to requests waiting here, written to the store soon after. */
  private async moveTo(seq: number): Promise<boolean> {
    this.position = Math.max(this.position, seq);
    this.settleWaiters();
    this.saveSoon();
    return true;
  }

  private saveSoon(): void {
    if (this.saving || this.position <= this.stored) return;
    this.saving = setTimeout(() => void this.savePosition().catch(() => undefined), SAVE_POSITION_MS);
    this.saving.unref();
  }

  /** Writes the position, if this node still holds the lease; false once another node took it over. */
  private async savePosition(): Promise<boolean> {
    if (this.saving) clearTimeout(this.saving);
    this.saving = null;
    const position = this.position;
    if (!this.held || position <= this.stored) return this.held;
    if (!(await this.store.advance(this.destination, position, this.lease, this.holder))) {
      this.held = false;
      this.log.info({ sink: this.destination }, "delivery taken over by another node");
      return false;
    }
    this.stored = Math.max(this.stored, position);
    return true;
  }

  private async letGo(): Promise<void> {
    if (!this.held) return;
    await this.savePosition().catch(() => false);
    this.held = false;
    await this.store.releaseLease(this.lease, this.holder).catch(() => undefined);
  }

  /** One measurement at a time; a store that cannot answer skips it (the worker's loop says so). */
  private measureNow(): void {
    this.measurement = this.measurement
      .then(async () => {
        if (this.closed) return;
        const { source, destination } = this.settings;
        const position = this.held
          ? this.position
          : await this.store.position(destination, await source.head());
        const { count, oldest } = await this.store.backlog(source.kind, position);
        const oldestSeconds = oldest === null ? null : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000);
        this.observer.backlog(destination, count, oldestSeconds);
      })
      .catch(() => undefined);
  }

  private settleWaiters(): void {
    const now = Date.now();
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.seq <= this.position) waiter.resolve();
      else if (now > waiter.deadline)
        waiter.reject(
          new Error(`${this.settings.what} ${this.destination} did not take the entries in time`),
        );
      else return true;
      return false;
    });
  }

  /** Without the lease, a waiting request learns of delivery from the position in the store. */
  private async settleWaitersFromStore(): Promise<void> {
    if (this.waiters.length === 0) return;
    this.position = await this.store.position(this.destination, await this.settings.source.head());
    this.settleWaiters();
  }

  private rejectWaiters(error: Error): void {
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters = [];
  }

  private pause(ms: number, commitsWake = true): Promise<Wake> {
    if (this.closed) return Promise.resolve("urgent");
    this.commitsWake = commitsWake;
    return new Promise((resolve) => {
      const done = (why: Wake) => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = null;
        resolve(why);
      };
      const timer = setTimeout(() => done("time"), ms);
      this.wake = done;
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
