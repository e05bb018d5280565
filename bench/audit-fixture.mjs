// The audit entries both 1M-entry benchmarks write: plausible code reads, one per millisecond,
// with a reason and a target per credential, so searches and backups see realistic rows.
import { auditRowFromEntry } from "../dist/store/audit-appenders.js";

/**
 * A function inserting a chained entry into `db`'s audit_entries as the store writes it; the
 * columns are named from that row, so a column added to the schema follows.
 */
export function auditEntryInserter(db) {
  let insert = null;
  return (entry) => {
    const row = auditRowFromEntry(entry);
    const columns = Object.keys(row);
    insert ??= db.prepare(
      `insert into audit_entries (${columns.join(", ")}) values (${columns.map((c) => `@${c}`).join(", ")})`,
    );
    insert.run(row);
  };
}

/** The fields of the nth code-read entry, reading credential `target`. */
export function codeReadEntry(n, target) {
  return {
    time: new Date(1_795_000_000_000 + n).toISOString(),
    actor: "token:Q2x1c3RlckFjY2Vzc29y",
    action: "totp.code.read",
    target,
    outcome: "allowed",
    reason: `INC-${n} on-call break-glass read`,
    request_id: "0b7c1f5e-8d3a-4f2b-9c61-2a4e5d7f8b90",
    remote_addr: "10.20.30.40",
    user_agent: "breakglass-cli/0.1.0",
    approval_ids: [],
    details: { step: 59_833_333 + n },
  };
}
