import type { Kysely, Transaction } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import { outboxRows } from "./kysely-delivery.js";
import type { Database } from "./schema.js";
import type { AuditHead } from "./store.js";

/**
 * How linked audit entries reach durable storage. Both strategies group commit: batches that
 * arrive while a commit is in progress are written together by the next one (one fsync).
 */
export interface AuditAppender {
  /** `events[i]` is the i-th linked entry's notification event, written in the same transaction. */
  append(link: (head: AuditHead | null) => AuditEntry[], events: readonly Event[]): Promise<AuditEntry[]>;
  /** Reads the head from the store again before the next append (a restore replaced the chain). */
  forgetHead(): void;
}

type Link = (head: AuditHead | null) => AuditEntry[];
/** A notification event as JSON, or null for an entry that tells nobody. */
type Event = string | null;
interface Waiting {
  link: Link;
  events: readonly Event[];
  resolve: (entries: AuditEntry[]) => void;
  reject: (error: unknown) => void;
}

/**
 * One transaction at a time on this node: it takes the engine's lock (a PostgreSQL advisory lock,
 * shared by every node), reads the true head, links every waiting batch after it, commits.
 */
export class TransactionalAuditAppender implements AuditAppender {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly lockAuditHead: (trx: Transaction<Database>) => Promise<void>,
    private readonly onTransaction: (entries: number) => void = () => {},
  ) {}

  forgetHead(): void {} // the head is read under the lock at every append

  append(link: Link, events: readonly Event[]): Promise<AuditEntry[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ link, events, resolve, reject });
      if (!this.writing) void this.writeWaiting();
    });
  }

  private async writeWaiting(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        const linked = await this.db.transaction().execute(async (trx) => {
          await this.lockAuditHead(trx);
          let head = await readAuditHead(trx);
          const perBatch = group.map(({ link }) => {
            const entries = link(head);
            const last = entries.at(-1);
            if (last) head = headOf(last);
            return entries;
          });
          const rows = perBatch.flat().map(auditRowFromEntry);
          if (rows.length > 0) await trx.insertInto("audit_entries").values(rows).execute();
          const outbox = perBatch.flatMap((entries, i) => outboxRows(entries, group[i]?.events ?? []));
          if (outbox.length > 0) await trx.insertInto("notification_outbox").values(outbox).execute();
          return perBatch;
        });
        const entries = linked.flat().length;
        if (entries > 0) this.onTransaction(entries); // a probe's append of nothing is no transaction to count
        group.forEach((waiting, i) => {
          waiting.resolve(linked[i] as AuditEntry[]);
        });
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
    this.writing = false;
  }
}

/**
 * Batches are linked one after another on the head this process knows (read from the store at
 * first and after a failure) and handed to `write` in that order, so the next batch is linked
 * while the previous one is still being made durable elsewhere (the SQLite writer thread).
 */
export class PipelinedAuditAppender implements AuditAppender {
  private knownHead: AuditHead | null | undefined = undefined;
  /** Counts the times the known head was given up: one failure gives it up once, not once per batch behind it. */
  private lineage = 0;
  private linkQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly write: (
      entries: AuditEntry[],
      expectedHead: AuditHead | null,
      outbox: Database["notification_outbox"][],
    ) => Promise<void>,
  ) {}

  forgetHead(): void {
    this.knownHead = undefined;
    this.lineage++;
  }

  async append(link: Link, events: readonly Event[]): Promise<AuditEntry[]> {
    const linking = this.linkQueue.then(async () => {
      const head = this.knownHead !== undefined ? this.knownHead : await readAuditHead(this.db);
      const entries = link(head);
      const last = entries.at(-1);
      this.knownHead = last ? headOf(last) : head;
      return {
        entries,
        written: this.write(entries, head, outboxRows(entries, events)),
        lineage: this.lineage,
      };
    });
    this.linkQueue = linking.then(
      () => undefined,
      () => undefined,
    );
    const { entries, written, lineage } = await linking;
    try {
      await written;
    } catch (error) {
      // Every batch linked after this one fails too: the next is linked on the head read from the
      // store. Their failures must not send it back again, or a batch linked since could be
      // followed by one linked on a head read before that batch was committed.
      if (lineage === this.lineage) this.forgetHead();
      throw error;
    }
    return entries;
  }
}

export async function readAuditHead(db: Kysely<Database>): Promise<AuditHead | null> {
  const head = await db
    .selectFrom("audit_entries")
    .select(["seq", "hash", "time"])
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return head ?? null;
}

const headOf = (entry: AuditEntry): AuditHead => ({ seq: entry.seq, hash: entry.hash, time: entry.time });

/** The row as stored: lists and objects as JSON text, the same on every engine. */
export function auditRowFromEntry(entry: AuditEntry) {
  return {
    ...entry,
    approval_ids: JSON.stringify(entry.approval_ids),
    details: JSON.stringify(entry.details),
    token: entry.token ?? null,
    token_name: entry.token_name ?? null,
  };
}
