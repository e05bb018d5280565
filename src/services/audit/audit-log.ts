import { type AuditAction, isAuditAction } from "../../core/audit-actions.js";
import {
  type AuditEntry,
  type AuditFields,
  type ChainHead,
  chainEntries,
  storableText,
} from "../../core/audit-chain.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { auditUnavailable } from "../../core/errors.js";
import { describeStorageFault } from "../../store/storage-faults.js";
import type { AuditFilter, Store } from "../../store/store.js";
import { actorLabel, type RequestContext } from "../context.js";
import type { EventNotice, NotificationEvent } from "../notify/events.js";

export interface AuditRecord {
  /** Only actions of the catalogue (core/audit-actions.ts) are recorded. */
  action: AuditAction;
  target?: string | null;
  outcome: AuditFields["outcome"];
  reason?: string | null;
  details?: AuditFields["details"];
  approvalIds?: string[];
  /** What the people who must know are told: stored with the entry, in the same transaction. */
  notify?: EventNotice;
}

export interface AuditObserver {
  /** A batch of entries is durable, `seconds` after it was handed to the store. */
  batchCommitted(seconds: number): void;
  commitFailed(error: unknown): void;
  /** Committed, but a required sink did not take them: the requests are refused all the same. */
  deliveryFailed(error: unknown): void;
}

/** Where committed entries go besides the store (the sinks). */
export interface AuditDelivery {
  /**
   * Every batch of committed entries, in chain order. Resolves once every `required` sink has
   * them; rejects if one failed, and the requests of the batch are then refused (fail closed).
   * Other sinks are fed in the background and never delay the caller.
   */
  deliver(entries: AuditEntry[]): Promise<void>;
}

/** An entry's fields as recorded here: its action one of the catalogue's. */
type RecordedFields = AuditFields & { action: AuditAction };

const textOrNull = (text: string | null | undefined) => (text == null ? null : storableText(text));

function storableDetails(details: AuditFields["details"] | undefined): AuditFields["details"] {
  if (!details) return {};
  const stored: AuditFields["details"] = {};
  for (const [key, value] of Object.entries(details))
    stored[storableText(key)] = typeof value === "string" ? storableText(value) : value;
  return stored;
}

interface Pending {
  fields: RecordedFields | ((previous: ChainHead | null) => RecordedFields);
  /** The notification event, as JSON, stored under the entry's seq. */
  event: string | null;
  resolve: (entry: AuditEntry) => void;
  reject: (error: Error) => void;
}

/**
 * The audit log. `record` resolves only once the entry is committed durably; callers release
 * nothing before that. Entries recorded in the same turn of the event loop go to the store as one
 * batch; the store groups batches that arrive while it syncs into one transaction (one fsync),
 * so concurrent code reads share the cost.
 */
export class AuditLog {
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly committedListeners: ((entries: AuditEntry[]) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly observer: AuditObserver,
    /** Where committed entries go besides the store (the sinks). */
    private readonly delivery: AuditDelivery,
    private readonly clock: Clock,
  ) {}

  /**
   * Records what a request did, naming the person who answers for it (`actor`) and the token it
   * came with. Every text is made storable first (core/audit-chain.ts `storableText`): whatever
   * reaches the log — a header, a path, a field the door let through — is hashed as stored.
   */
  record(ctx: RequestContext, record: AuditRecord): Promise<AuditEntry> {
    // The type says so; this says so to code that got round it (a cast, a string from elsewhere).
    if (!isAuditAction(record.action))
      return Promise.reject(
        new Error(`${record.action} is not an audit action of the catalogue (core/audit-actions.ts)`),
      );
    const actor = ctx.actor;
    const fields: RecordedFields = {
      time: isoTime(this.clock),
      actor: storableText(actorLabel(actor)),
      action: record.action,
      target: textOrNull(record.target),
      outcome: record.outcome,
      reason: textOrNull(record.reason),
      request_id: storableText(ctx.requestId),
      remote_addr: textOrNull(ctx.remoteAddr),
      user_agent: textOrNull(ctx.userAgent),
      approval_ids: (record.approvalIds ?? []).map(storableText),
      details: storableDetails(record.details),
      ...(actor ? { token: actor.accessor, token_name: storableText(actor.displayName) } : {}),
    };
    return this.append(fields, record.notify);
  }

  /** Records what the system did of itself (a reminder, a warning): nobody asked for it. */
  recordBySystem(requestId: string, record: AuditRecord): Promise<AuditEntry> {
    return this.append(
      {
        time: isoTime(this.clock),
        actor: "system",
        action: record.action,
        target: textOrNull(record.target),
        outcome: record.outcome,
        reason: textOrNull(record.reason),
        request_id: requestId,
        remote_addr: null,
        user_agent: null,
        approval_ids: [],
        details: storableDetails(record.details),
      },
      record.notify,
    );
  }

  /**
   * Appends an entry (made from the one before it: checkpoints) in the same durable way, with
   * the event it tells, if any.
   */
  append(fields: Pending["fields"], notify?: EventNotice): Promise<AuditEntry> {
    let event: string | null = null;
    if (notify && typeof fields !== "function") {
      const told: NotificationEvent = {
        ...notify,
        time: fields.time,
        requestId: fields.request_id ?? undefined,
      };
      event = JSON.stringify(told);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ fields, event, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Called after every committed batch (the checkpoint scheduler counts entries with it). */
  onCommitted(listener: (entries: AuditEntry[]) => void): void {
    this.committedListeners.push(listener);
  }

  list(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.store.listAuditEntries(filter);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const started = process.hrtime.bigint();
    try {
      const entries = await this.store.appendAuditEntries(
        (head) =>
          chainEntries(
            head,
            batch.map((p) => p.fields),
          ),
        batch.map((p) => p.event),
      );
      this.observer.batchCommitted(Number(process.hrtime.bigint() - started) / 1e9);
      for (const listener of this.committedListeners) listener(entries);
      try {
        await this.delivery.deliver(entries);
      } catch (error) {
        this.observer.deliveryFailed(error);
        for (const p of batch) p.reject(auditUnavailable());
        return;
      }
      batch.forEach((p, i) => {
        p.resolve(entries[i] as AuditEntry);
      });
    } catch (error) {
      this.observer.commitFailed(error);
      // A full disk, say, is named in the refusal: the person asking knows it is not their request.
      const cause = describeStorageFault(error)?.text;
      for (const p of batch) p.reject(auditUnavailable(cause));
    }
  }
}
