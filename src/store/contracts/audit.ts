import type { AuditEntry } from "../../core/audit-chain.js";

/** The audit chain. */
export interface AuditStore {
  /**
   * Appends entries to the audit chain in one durable transaction: `link` receives the true head
   * (read under the engine's lock) and returns the linked entries to write. `events[i]`, when set,
   * is the notification event (JSON) of the i-th entry: stored in the same transaction, under its
   * seq (the outbox, contracts/delivery.ts). Resolves after commit.
   */
  appendAuditEntries(
    link: (head: AuditHead | null) => AuditEntry[],
    events?: readonly (string | null)[],
  ): Promise<AuditEntry[]>;
  listAuditEntries(filter: AuditFilter): Promise<AuditEntry[]>;
  /** The last entry of the audit chain (seq, hash, time), or null when it is empty. */
  readAuditHead(): Promise<AuditHead | null>;
}

export interface AuditHead {
  seq: number;
  hash: string;
  /** The last entry's time: the next may not be dated before it. */
  time: string;
}

export interface AuditFilter {
  afterSeq?: number;
  beforeSeq?: number;
  /** Newest first (seq descending); oldest first otherwise, the chain's order. */
  newestFirst?: boolean;
  outcome?: string;
  /** Entries whose reason contains this text (case-insensitive). */
  reasonContains?: string;
  since?: string;
  until?: string;
  actor?: string;
  /** This action exactly. */
  action?: string;
  /** Actions under this dotted prefix (`totp` finds `totp.code.read`). */
  actionFamily?: string;
  /** This target exactly. */
  target?: string;
  /** A target equal to this name or ending in `/` and it (`aws-prod-root` finds `totp/keys/aws-prod-root`). */
  targetName?: string;
  /** Leaves out the allowed entries of these actions (their refusals stay). */
  hideAllowed?: readonly string[];
  limit?: number;
}
