import { type AuditEntry, type AuditFields, chainEntries, type FieldsToLink } from "../core/audit-chain.js";
import { auditUnavailable } from "../core/errors.js";
import type { AuditFilter, Store } from "../store/store.js";
import { actorLabel, type RequestContext } from "./context.js";

export interface AuditRecord {
  action: string;
  target?: string | null;
  outcome: AuditFields["outcome"];
  reason?: string | null;
  details?: AuditFields["details"];
  approvalIds?: string[];
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

interface Pending {
  fields: FieldsToLink;
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
  private delivery: AuditDelivery | null = null;
  private readonly committedListeners: ((entries: AuditEntry[]) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly observer: AuditObserver,
  ) {}

  record(ctx: RequestContext, record: AuditRecord): Promise<AuditEntry> {
    const fields: AuditFields = {
      time: new Date().toISOString(),
      actor: actorLabel(ctx.actor),
      action: record.action,
      target: record.target ?? null,
      outcome: record.outcome,
      reason: record.reason ?? null,
      request_id: ctx.requestId,
      remote_addr: ctx.remoteAddr,
      user_agent: ctx.userAgent,
      approval_ids: record.approvalIds ?? [],
      details: record.details ?? {},
    };
    return this.append(fields);
  }

  /** Appends an entry made from the one before it, in the same durable way (checkpoints). */
  append(fields: FieldsToLink): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.pending.push({ fields, resolve, reject });
      this.scheduleFlush();
    });
  }

  setDelivery(delivery: AuditDelivery | null): void {
    this.delivery = delivery;
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
      const entries = await this.store.appendAuditEntries((head) =>
        chainEntries(
          head,
          batch.map((p) => p.fields),
        ),
      );
      this.observer.batchCommitted(Number(process.hrtime.bigint() - started) / 1e9);
      for (const listener of this.committedListeners) listener(entries);
      try {
        await this.delivery?.deliver(entries);
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
      for (const p of batch) p.reject(auditUnavailable());
    }
  }
}
