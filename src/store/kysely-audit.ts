import { type Kysely, type Selectable, sql } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import { type AuditAppender, readAuditHead } from "./audit-appenders.js";
import type { AuditEntryTable, Database } from "./schema.js";
import type { AuditStore } from "./store.js";

/** The audit chain: appended through the engine's appender, read with the same Kysely code on either engine. */
export function kyselyAudit(db: Kysely<Database>, appender: AuditAppender): AuditStore {
  return {
    appendAuditEntries(link, events = []) {
      return appender.append(link, events);
    },

    async listAuditEntries(filter) {
      let query = db
        .selectFrom("audit_entries")
        .selectAll()
        .orderBy("seq", filter.newestFirst ? "desc" : "asc");
      if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
      if (filter.beforeSeq !== undefined) query = query.where("seq", "<", filter.beforeSeq);
      if (filter.since) query = query.where("time", ">=", filter.since);
      if (filter.until) query = query.where("time", "<", filter.until);
      if (filter.actor) query = query.where("actor", "=", filter.actor);
      const { actionFamily, targetName, hideAllowed } = filter;
      if (filter.action) query = query.where("action", "=", filter.action);
      // Prefix and suffix by substr, not LIKE: exact and case-sensitive on both engines (SQLite's
      // LIKE folds ASCII case); the time range, on its index, bounds what is scanned.
      if (actionFamily)
        query = query.where(sql`substr(action, 1, ${characters(actionFamily) + 1})`, "=", `${actionFamily}.`);
      if (filter.target) query = query.where("target", "=", filter.target);
      if (targetName)
        query = query.where((eb) =>
          eb.or([
            eb("target", "=", targetName),
            // A target shorter than the suffix yields a shorter text (or, in SQLite, the whole
            // text) and never equals it.
            eb(sql`substr(target, length(target) - ${characters(targetName)})`, "=", `/${targetName}`),
          ]),
        );
      if (hideAllowed && hideAllowed.length > 0)
        query = query.where((eb) =>
          eb.or([eb("outcome", "!=", "allowed"), eb("action", "not in", [...hideAllowed])]),
        );
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

/** Text length as both engines count it: in characters (code points), not UTF-16 units. */
function characters(text: string): number {
  return [...text].length;
}

/** LIKE patterns treat % and _ as wildcards; a reason searched for is taken literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
