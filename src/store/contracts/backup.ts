import type { AuditEntry } from "../../core/audit-chain.js";
import type { BackupRecord, BackupRow } from "../../core/backup-file.js";
import type { AuditHead } from "./audit.js";

export interface BackupStore {
  /** The migrations applied to this database, in order: a backup restores only into the same. */
  schemaVersion(): Promise<string[]>;
  /**
   * A consistent snapshot of every table but seal_config and restore_chunks (the seal
   * configuration travels in a backup's header). Close it when done, also when abandoned.
   */
  openSnapshot(): Promise<BackupSnapshot>;
  /** Keeps one encrypted chunk of a backup being restored, as it was in the file. */
  stageChunk(index: number, payload: Buffer): Promise<void>;
  clearStagedChunks(): Promise<void>;
  /**
   * In one transaction: takes the restore pending as `restore.pending` (null when it is no
   * longer pending: another node applied it), inserts every row of the staged chunks, clears
   * them, and links the audit entries written since the restore after the restored chain.
   * Returns the rows inserted per table.
   */
  applyStagedRestore(restore: StagedRestore): Promise<Record<string, number> | null>;
}

export interface BackupSnapshot {
  /** Rows per table, as of the snapshot. */
  readonly counts: Record<string, number>;
  /** The sealed keyring as of the snapshot: every row in it is sealed under one of its data keys. */
  readonly sealedKeyring: Buffer | null;
  /** The rows of every table, a page at a time, in primary key order. */
  pages(): AsyncGenerator<{ table: string; rows: BackupRow[] }>;
  /** Ends the snapshot; safe to call more than once. */
  close(): Promise<void>;
}

export interface StagedRestore {
  /** seal_config.restore_pending as read: the restore applies only if it is still the same. */
  pending: string;
  chunks: number;
  /** Rows per table the backup's header announced; any difference undoes the restore. */
  counts: Record<string, number>;
  /** The rows of staged chunk `index`; throws BAD_INPUT when it does not open. */
  open(index: number, payload: Buffer): BackupRecord[];
  /** The entries written since the restore (its unseal), linked again after the restored head. */
  relink(head: AuditHead | null, displaced: AuditEntry[]): AuditEntry[];
}
