import { type AuditEntry, type AuditFields, chainEntries } from "../core/audit-chain.js";
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
}

interface Pending {
  fields: AuditFields;
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
    return new Promise((resolve, reject) => {
      this.pending.push({ fields, resolve, reject });
      this.scheduleFlush();
    });
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
      batch.forEach((p, i) => {
        p.resolve(entries[i] as AuditEntry);
      });
    } catch (error) {
      this.observer.commitFailed(error);
      for (const p of batch) p.reject(auditUnavailable());
    }
  }
}
