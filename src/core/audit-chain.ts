import { createHash } from "node:crypto";

/**
 * The audit hash chain: hash = SHA-256(prev_hash || canonical_json(entry)), both as UTF-8 text,
 * where entry is every field but `hash`. Canonical JSON: keys sorted, no whitespace.
 * docs/audit-format.md states this for auditors who verify with their own tools.
 */

export const GENESIS_HASH = "0".repeat(64);

export interface AuditFields {
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: "allowed" | "denied" | "failed";
  reason: string | null;
  request_id: string | null;
  remote_addr: string | null;
  user_agent: string | null;
  approval_ids: string[];
  details: Record<string, string | number | boolean | null>;
}

export interface AuditEntry extends AuditFields {
  seq: number;
  prev_hash: string;
  hash: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as Json)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Names every hashed field explicitly, so a column added later cannot silently change old hashes. */
export function hashEntry(entry: Omit<AuditEntry, "hash">): string {
  const hashed: { [key: string]: Json } = {
    seq: entry.seq,
    time: entry.time,
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    reason: entry.reason,
    request_id: entry.request_id,
    remote_addr: entry.remote_addr,
    user_agent: entry.user_agent,
    approval_ids: entry.approval_ids,
    details: entry.details,
    prev_hash: entry.prev_hash,
  };
  return createHash("sha256")
    .update(entry.prev_hash, "utf8")
    .update(canonicalJson(hashed), "utf8")
    .digest("hex");
}

/** The line of an entry in exports, sinks and files: canonical JSON, so every copy is byte-for-byte the same. */
export function auditLine(entry: AuditEntry): string {
  return canonicalJson(entry as unknown as Json);
}

export type ChainHead = { seq: number; hash: string };
/** An entry's fields, or a function making them from the entry before it (a checkpoint signs that one). */
export type FieldsToLink = AuditFields | ((previous: ChainHead | null) => AuditFields);

/** Links new entries after the head (seq, hash) of the stored chain. */
export function chainEntries(head: ChainHead | null, fields: FieldsToLink[]): AuditEntry[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  return fields.map((toLink) => {
    const entry = typeof toLink === "function" ? toLink(seq === 0 ? null : { seq, hash: prev }) : toLink;
    seq += 1;
    const linked = { ...entry, seq, prev_hash: prev };
    const hash = hashEntry(linked);
    prev = hash;
    return { ...linked, hash };
  });
}

export type ChainProblem = { seq: number; problem: string };

/** Walks entries in order and reports the first one that does not hold: edited, missing or reordered. */
export function verifyChain(entries: Iterable<AuditEntry>): {
  count: number;
  head: AuditEntry | null;
  firstProblem: ChainProblem | null;
} {
  let expectedSeq = 1;
  let prev = GENESIS_HASH;
  let count = 0;
  let head: AuditEntry | null = null;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq)
      return {
        count,
        head,
        firstProblem: {
          seq: expectedSeq,
          problem: `entry ${expectedSeq} is missing (next present is ${entry.seq})`,
        },
      };
    if (entry.prev_hash !== prev)
      return {
        count,
        head,
        firstProblem: {
          seq: entry.seq,
          problem: `entry ${entry.seq} does not link to entry ${entry.seq - 1} (prev_hash differs)`,
        },
      };
    if (hashEntry(entry) !== entry.hash)
      return {
        count,
        head,
        firstProblem: {
          seq: entry.seq,
          problem: `entry ${entry.seq} was altered (its hash does not match its content)`,
        },
      };
    prev = entry.hash;
    expectedSeq += 1;
    count += 1;
    head = entry;
  }
  return { count, head, firstProblem: null };
}
