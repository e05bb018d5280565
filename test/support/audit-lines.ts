/**
 * What an auditor (or an attacker) can compute from the README alone, written independently of
 * the server's code: the canonical line, the hash chain, the checkpoint message.
 */
import { createHash } from "node:crypto";
import type { AuditEntry } from "../../src/core/audit-chain.js";

export type { AuditEntry };

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

export const auditLine = (entry: AuditEntry) => canonical(entry);

/** Re-links entries after `head`, recomputing seq, prev_hash and hash; a function makes an entry from the one before. */
export function chainEntries(
  head: AuditEntry | null,
  entries: (AuditEntry | ((previous: AuditEntry | null) => AuditEntry))[],
): AuditEntry[] {
  let previous = head;
  return entries.map((item) => {
    const entry = typeof item === "function" ? item(previous) : item;
    const { hash: _old, ...body } = {
      ...entry,
      seq: (previous?.seq ?? 0) + 1,
      prev_hash: previous?.hash ?? "0".repeat(64),
    };
    const hash = createHash("sha256")
      .update(body.prev_hash + canonical(body))
      .digest("hex");
    previous = { ...body, hash } as AuditEntry;
    return previous;
  });
}

export function checkpointMessageOf(entry: AuditEntry): string {
  return `breakglass-audit-checkpoint v1 seq=${entry.details.signed_seq} hash=${entry.details.signed_hash} time=${entry.time}`;
}
