/**
 * Delivery from the store (services/delivery): the notification outbox, each destination's
 * position, leases so that one node at a time does a piece of work, dead letters, and
 * cluster-wide notices.
 */
export interface DeliveryStore {
  /**
   * Takes or renews lease `name` for `holder` until `untilMs` when it is free, lapsed (its end
   * before `nowMs`) or already `holder`'s; false while another holder has it.
   */
  claimLease(name: string, holder: string, nowMs: number, untilMs: number): Promise<boolean>;
  /** Lets the lease go now, if `holder` has it. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Every lease and its holder. */
  leases(): Promise<{ name: string; holder: string }[]>;

  /** The destination's position; a destination seen for the first time starts at `start`. */
  position(destination: string, start: number): Promise<number>;
  /** Moves the destination forward to `position`, only while `holder` holds `lease`; false if it does not. */
  advance(destination: string, position: number, lease: string, holder: string): Promise<boolean>;
  /** Sets the position whoever holds the lease (a restored chain began again below it). */
  rewind(destination: string, position: number): Promise<void>;
  /** Forgets a removed destination: its position and dead letters. */
  forget(destination: string): Promise<void>;
  /** Every destination's position. */
  positions(): Promise<{ destination: string; position: number }[]>;

  /** Outbox events after `seq`, in order. */
  outboxAfter(seq: number, limit: number): Promise<OutboxEvent[]>;
  /** The last outbox seq, 0 when it is empty. */
  outboxHead(): Promise<number>;
  /** How many outbox events (`outbox`) or audit entries (`audit`) come after `seq`, and the time of the first. */
  backlog(source: "outbox" | "audit", seq: number): Promise<{ count: number; oldest: string | null }>;
  /**
   * Deletes outbox events up to `seq`, which every notification destination is past, a few
   * thousand per transaction: a minute of events can be hundreds of thousands, and the audit
   * writer waits for the write lock while they go.
   */
  pruneOutbox(seq: number): Promise<void>;

  /** Adds or replaces dead letters (a redriven letter given up on again). */
  putDeadLetters(letters: DeadLetterRecord[]): Promise<void>;
  deadLetters(): Promise<DeadLetterRecord[]>;
  /** Marks the matching letters of `destinations` to be sent again; returns how many. */
  markRedrive(destinations: string[], seq?: number): Promise<number>;
  /** The destination's letters marked to be sent again, oldest first. */
  redriveDue(destination: string, limit: number): Promise<DeadLetterRecord[]>;
  deleteDeadLetter(destination: string, seq: number): Promise<void>;

  readNotice(name: string): Promise<{ value: string; at: string } | null>;
  writeNotice(name: string, value: string, at: string): Promise<void>;
}

export interface OutboxEvent {
  seq: number;
  time: string;
  /** The event as JSON. */
  event: string;
}

export interface DeadLetterRecord {
  destination: string;
  seq: number;
  payload: string;
  summary: string;
  error: string;
  attempts: number;
  deadAt: string;
  redrive: boolean;
}
