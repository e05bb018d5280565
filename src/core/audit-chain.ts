import { hash, type KeyObject } from "node:crypto";
import { CHECKPOINT_ACTION, checkpointProblem } from "./audit-checkpoint.js";

/**
 * The audit hash chain: hash = SHA-256(prev_hash || canonical_json(entry)), both as UTF-8 text,
 * where entry is every field but `hash`. Canonical JSON: keys sorted, no whitespace.
 * The README ("The audit log, for auditors") states this for auditors who verify with their own tools.
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
  /** The accessor of the token the request came with; absent without one. */
  token?: string;
  /** That token's display name (a machine token's name, `userpass-alice`); absent without a token. */
  token_name?: string;
}

export interface AuditEntry extends AuditFields {
  seq: number;
  prev_hash: string;
  hash: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function canonicalJson(value: Json): string {
  // Loops and concatenation rather than map/join: every code read hashes one entry on the way out.
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i] as Json);
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    out += `${i > 0 ? "," : ""}${JSON.stringify(key)}:${canonicalJson(value[key] as Json)}`;
  }
  return `${out}}`;
}

/**
 * Every hashed field, named explicitly (so a column added later cannot silently change old
 * hashes) and already in canonical (sorted) order, with its `"key":` text made once. Fields
 * added after the first release are left out of an entry (and of its hash) when absent, so
 * entries written before them keep their hashes.
 */
const HASHED_FIELDS = [
  "action",
  "actor",
  "approval_ids",
  "details",
  "outcome",
  "prev_hash",
  "reason",
  "remote_addr",
  "request_id",
  "seq",
  "target",
  "time",
  "token",
  "token_name",
  "user_agent",
] as const satisfies readonly (keyof AuditEntry)[];
const OMITTED_WHEN_ABSENT: ReadonlySet<keyof AuditEntry> = new Set(["token", "token_name"]);
const LINE_FIELDS = [...HASHED_FIELDS, "hash"].sort() as (keyof AuditEntry)[];

type FieldList = readonly (keyof AuditEntry)[];
const keyPrefixes = (fields: FieldList) =>
  fields.map((field, i) => `${i === 0 ? "{" : ","}${JSON.stringify(field)}:`);
const HASHED_PREFIXES = keyPrefixes(HASHED_FIELDS);
const LINE_PREFIXES = keyPrefixes(LINE_FIELDS);

/** canonicalJson of the object made of `fields` of `entry`: the same bytes, without sorting each time. */
function canonicalFields(entry: Partial<AuditEntry>, fields: FieldList, prefixes: string[]): string {
  let out = "";
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as keyof AuditEntry;
    const value = entry[field];
    // None of these is first in order, so its prefix always starts with a comma.
    if ((value === undefined || value === null) && OMITTED_WHEN_ABSENT.has(field)) continue;
    out += (prefixes[i] as string) + canonicalJson(value as Json);
  }
  return `${out}}`;
}

/**
 * Text as every store keeps it: a lone UTF-16 surrogate (which UTF-8 cannot encode) and NUL
 * (which PostgreSQL's text cannot hold) become U+FFFD. Entries are hashed after this, so the
 * hash covers exactly what is stored, whatever text reaches the log.
 */
export function storableText(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", "\uFFFD") : wellFormed;
}

export function hashEntry(entry: Omit<AuditEntry, "hash">): string {
  return hash("sha256", entry.prev_hash + canonicalFields(entry, HASHED_FIELDS, HASHED_PREFIXES), "hex");
}

/** The line of an entry in exports, sinks and files: canonical JSON, so every copy is byte-for-byte the same. */
export function auditLine(entry: AuditEntry): string {
  return canonicalFields(entry, LINE_FIELDS, LINE_PREFIXES);
}

/** The last entry of a chain: what the next one links to, and the time it may not go before. */
export type ChainHead = { seq: number; hash: string; time?: string };
/** An entry's fields, or a function making them from the entry before it (a checkpoint signs that one). */
export type FieldsToLink = AuditFields | ((previous: ChainHead | null) => AuditFields);

/** Links new entries after the head (seq, hash) of the stored chain. */
export function chainEntries(head: ChainHead | null, fields: FieldsToLink[]): AuditEntry[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  let time = head?.time;
  return fields.map((toLink) => {
    const made = typeof toLink === "function" ? toLink(seq === 0 ? null : { seq, hash: prev, time }) : toLink;
    const entry = notBefore(made, time);
    seq += 1;
    const linked = { ...entry, seq, prev_hash: prev };
    const hash = hashEntry(linked);
    prev = hash;
    time = entry.time;
    return { ...linked, hash };
  });
}

/**
 * An entry is never dated before the one it follows: when this node's clock is behind the chain
 * (set back, or slower than another node's), the entry takes its predecessor's time and says by how
 * much the clock was behind (`details.clock_behind_ms`), so the record is ordered and the jump is on it.
 */
function notBefore(fields: AuditFields, previousTime: string | undefined): AuditFields {
  if (previousTime === undefined) return fields;
  const behindMs = Date.parse(previousTime) - Date.parse(fields.time);
  if (!(behindMs > 0)) return fields;
  return { ...fields, time: previousTime, details: { ...fields.details, clock_behind_ms: behindMs } };
}

export type ChainProblem = { seq: number; problem: string };

export interface ChainReport {
  count: number;
  head: AuditEntry | null;
  /** The last checkpoint that holds (signature checked when a key was given). */
  lastCheckpoint: { seq: number; signedSeq: number; time: string } | null;
  /** Entries after the last checkpoint: intact links, but not yet signed by anyone. */
  unsignedTail: { from: number; to: number } | null;
  signaturesChecked: boolean;
  /** The first entry that does not hold: edited, missing, reordered, or a checkpoint that fails. */
  firstProblem: ChainProblem | null;
  /**
   * Entries dated before the entry they follow (intact, but the clock that wrote them ran
   * backwards; breakglass no longer writes such entries): how many, and the first few.
   */
  timeBackwards: { count: number; first: TimeBackwards[] };
}

export interface TimeBackwards {
  seq: number;
  time: string;
  previous_time: string;
}

/** How many entries whose time runs backwards a report names (it counts them all). */
const TIME_BACKWARDS_NAMED = 10;

/**
 * Walks entries in order, one at a time (so a log of millions of lines streams through): each
 * must follow the one before (seq, prev_hash), hash to its own content, and — for checkpoints —
 * sign the entry before it with the given key.
 */
export class ChainVerifier {
  private readonly state: ChainReport;
  private prev = GENESIS_HASH;

  constructor(private readonly publicKey?: KeyObject) {
    this.state = {
      count: 0,
      head: null,
      lastCheckpoint: null,
      unsignedTail: null,
      signaturesChecked: publicKey !== undefined,
      firstProblem: null,
      timeBackwards: { count: 0, first: [] },
    };
  }

  /** Checks the next entry; false once a problem was found (later entries are not looked at). */
  add(entry: AuditEntry): boolean {
    if (this.state.firstProblem) return false;
    const expectedSeq = this.state.count + 1;
    const problem =
      entry.seq !== expectedSeq
        ? `entry ${expectedSeq} is missing (next present is ${entry.seq})`
        : entry.prev_hash !== this.prev
          ? `entry ${entry.seq} does not link to entry ${entry.seq - 1} (prev_hash differs)`
          : hashEntry(entry) !== entry.hash
            ? `entry ${entry.seq} was altered (its hash does not match its content)`
            : entry.action === CHECKPOINT_ACTION
              ? checkpointProblem(entry, this.publicKey, (this.state.lastCheckpoint?.seq ?? 0) + 1)
              : null;
    if (problem) {
      this.state.firstProblem = { seq: expectedSeq, problem };
      return false;
    }
    if (entry.action === CHECKPOINT_ACTION)
      this.state.lastCheckpoint = { seq: entry.seq, signedSeq: entry.seq - 1, time: entry.time };
    const previous = this.state.head;
    if (previous && Date.parse(entry.time) < Date.parse(previous.time)) {
      const { timeBackwards } = this.state;
      timeBackwards.count += 1;
      if (timeBackwards.first.length < TIME_BACKWARDS_NAMED)
        timeBackwards.first.push({ seq: entry.seq, time: entry.time, previous_time: previous.time });
    }
    this.prev = entry.hash;
    this.state.count += 1;
    this.state.head = entry;
    return true;
  }

  report(): ChainReport {
    const signedUpTo = this.state.lastCheckpoint?.seq ?? 0;
    const head = this.state.head;
    return {
      ...this.state,
      unsignedTail: head && head.seq > signedUpTo ? { from: signedUpTo + 1, to: head.seq } : null,
    };
  }
}

export function verifyChain(entries: Iterable<AuditEntry>, publicKey?: KeyObject): ChainReport {
  const verifier = new ChainVerifier(publicKey);
  for (const entry of entries) if (!verifier.add(entry)) break;
  return verifier.report();
}
