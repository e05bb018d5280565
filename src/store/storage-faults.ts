import { statfsSync } from "node:fs";

/**
 * Why the store cannot write, when the cause is the machine and not the request: a full disk, an
 * I/O error, a read-only filesystem or database, another writer on the audit chain. Each is told
 * in plain words with the engine's own code, so that a log line names it rather than its symptom.
 */
export interface StorageFault {
  reason: "disk_full" | "io_error" | "read_only" | "chain_lock";
  /** What happened, with the code it came with: "the disk holding the data directory is full (SQLITE_FULL)". */
  text: string;
}

/** Set by the SQLite audit writer on a batch refused because another writer appended to the chain. */
export const AUDIT_HEAD_MOVED = "AUDIT_HEAD_MOVED";

const FAULTS: [RegExp, StorageFault["reason"], string][] = [
  [/^SQLITE_FULL$/, "disk_full", "the disk holding the data directory is full"],
  [/^ENOSPC$/, "disk_full", "the disk is full"],
  [/^53100$/, "disk_full", "the database server's disk is full"],
  [/^SQLITE_IOERR(_[A-Z]+)?$/, "io_error", "the data directory's disk gave an I/O error"],
  [/^EIO$/, "io_error", "the disk gave an I/O error"],
  [/^SQLITE_READONLY(_[A-Z]+)?$/, "read_only", "the database file cannot be written (read-only)"],
  [/^EROFS$/, "read_only", "the filesystem is read-only"],
  [/^(EACCES|EPERM)$/, "read_only", "permission denied"],
  [/^SQLITE_CANTOPEN$/, "read_only", "the database file cannot be opened for writing"],
  [/^25006$/, "read_only", "the database refuses writes (read-only transaction)"],
  [/^55P03$/, "chain_lock", "the audit chain's lock could not be taken"],
  [
    new RegExp(`^${AUDIT_HEAD_MOVED}$`),
    "chain_lock",
    "another process appended to the audit chain (two servers on one data directory?)",
  ],
];

/**
 * The fault behind `error`, or null when it is not one. `dir`, when given, is the data directory:
 * SQLite reports some writes refused by a full disk as I/O errors, so a full disk there is said so.
 */
export function describeStorageFault(error: unknown, dir?: string): StorageFault | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  const found = FAULTS.find(([pattern]) => pattern.test(code));
  if (!found) return null;
  const [, reason, words] = found;
  if (reason === "io_error" && dir !== undefined && diskIsFull(dir))
    return { reason: "disk_full", text: `the disk is full (${code})` };
  return { reason, text: `${words} (${code})` };
}

function diskIsFull(dir: string): boolean {
  try {
    return statfsSync(dir).bavail === 0;
  } catch {
    return false;
  }
}

/** The data directory cannot be written at start: the CLI shows the message and exits 1. */
export class DataDirectoryError extends Error {}

/** The error to stop a start with when `error` is a storage fault in `dir`; else `error` itself. */
export function unwritableDataDirectory(error: unknown, dir: string): unknown {
  const fault = describeStorageFault(error, dir);
  return fault ? new DataDirectoryError(`cannot write to ${dir}: ${fault.text}`) : error;
}
