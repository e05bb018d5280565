import type { AuditEntry } from "../../core/audit-chain.js";
import { CHECKPOINT_ACTION, checkpointFields, signingKeyFromSeed } from "../../core/audit-checkpoint.js";
import { type Clock, isoTime } from "../../core/clock.js";
import type { UnsealedKeys } from "../seal/secret-box.js";
import type { AuditLog } from "./audit-log.js";

export interface CheckpointPolicy {
  /** Sign the head after this many entries from this node… */
  everyEntries: number;
  /** …and at least this often while there are unsigned entries. */
  everySeconds: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { everyEntries: 1000, everySeconds: 30 };

/**
 * Appends signed checkpoints to the audit chain: after every N entries this node committed, and
 * at least every T seconds while any are unsigned, so a quiet server still signs within a minute.
 * Only while unsealed: the signing key lives in the keyring. With several nodes, whichever node
 * appends a checkpoint signs the true head (it is linked under the chain's lock like any entry).
 */
export class AuditCheckpoints {
  private unsigned = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly audit: AuditLog,
    private readonly box: UnsealedKeys,
    private readonly clock: Clock,
    private readonly policy: CheckpointPolicy = DEFAULT_CHECKPOINT_POLICY,
  ) {
    audit.onCommitted((entries) => {
      for (const entry of entries) this.unsigned = entry.action === CHECKPOINT_ACTION ? 0 : this.unsigned + 1;
      if (this.unsigned >= policy.everyEntries) void this.checkpoint().catch(() => {});
    });
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.unsigned > 0) void this.checkpoint().catch(() => {});
    }, this.policy.everySeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Signs the current head now (an export does this, so it ends signed). Null while sealed. */
  async checkpoint(): Promise<AuditEntry | null> {
    if (this.box.isSealed) return null;
    const privateKey = signingKeyFromSeed(this.box.keyringOrThrow().auditSigningSeed);
    return this.audit.append((previous) => checkpointFields(previous, isoTime(this.clock), privateKey));
  }
}
