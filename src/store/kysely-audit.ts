import { type Kysely, type Selectable, sql } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import { type AuditAppender, readAuditHead } from "./audit-appenders.js";
import type { AuditEntryTable, Database } from "./schema.js";
import type { AuditStore } from "./store.js";

/** The audit chain: appended through the engine's appender, read with the same Kysely code on either engine. */
export function kyselyAudit(db: Kysely<Database>, appender: AuditAppender): AuditStore {
  return {
    appendAuditEntries(link) {
      return appender.append(link);
    },

    async listAuditEntries(filter) {
      let query = db.selectFrom("audit_entries").selectAll().orderBy("seq", "asc");
      if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
      if (filter.since) query = query.where("time", ">=", filter.since);
      if (filter.until) query = query.where("time", "<", filter.until);
      if (filter.actor) query = query.where("actor", "=", filter.actor);
      if (filter.action) query = query.where("action", "=", filter.action);
      if (filter.target) query = query.where("target", "=", filter.target);
      // The filter is the caller's text: one that is no outcome matches no entry.
      if (filter.outcome) query = query.where("outcome", "=", filter.outcome as AuditEntry["outcome"]);
      if (filter.reasonContains)
        query = query.where(
          sql<boolean>`lower(reason) like ${`%${escapeLike(filter.reasonContains.toLowerCase())}%`} escape '\\'`,
        );
      if (filter.limit) query = query.limit(filter.limit);
      const rows = await query.execute();
      return rows.map(auditEntryFromRow);
    },

    readAuditHead() {
      return readAuditHead(db);
    },
  };
}

export function auditEntryFromRow(row: Selectable<AuditEntryTable>): AuditEntry {
  return {
    // The migration check (server/migration-check.ts) hands rows read with bigint integers.
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    reason: row.reason,
    request_id: row.request_id,
    remote_addr: row.remote_addr,
    user_agent: row.user_agent,
    approval_ids: parseTamperableJson(row.approval_ids),
    details: parseTamperableJson(row.details),
    prev_hash: row.prev_hash,
    hash: row.hash,
    ...(row.token === null ? {} : { token: row.token }),
    ...(row.token_name === null ? {} : { token_name: row.token_name }),
  };
}

/** A hand-edited row may hold anything; keep the raw text so verification reports the entry instead of crashing. */
function parseTamperableJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as unknown as T;
  }
}

/** LIKE patterns treat % and _ as wildcards; a reason searched for is taken literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
