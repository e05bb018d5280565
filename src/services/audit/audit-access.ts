import type { AuditAction } from "../../core/audit-actions.js";
import { type AuditEntry, auditLine, type ChainReport, ChainVerifier } from "../../core/audit-chain.js";
import { parsePublicKey } from "../../core/audit-checkpoint.js";
import { BreakglassError } from "../../core/errors.js";
import type { AuditFilter } from "../../store/store.js";
import type { RequestContext } from "../context.js";
import type { SealService } from "../seal/seal.js";
import type { AuditCheckpoints } from "./audit-checkpoints.js";
import type { AuditLog } from "./audit-log.js";

const EXPORT_PAGE = 5000;

/** Reading the audit log, for auditors: every read is itself on the log. */
export class AuditAccess {
  constructor(
    private readonly audit: AuditLog,
    private readonly checkpoints: AuditCheckpoints,
    private readonly seal: SealService,
  ) {}

  /**
   * A page of entries in the filter's order; when the page is full, the last one's seq continues
   * it: `nextAfter` oldest first, `nextBefore` newest first (the other is null).
   */
  async list(
    filter: AuditFilter,
    ctx: RequestContext,
  ): Promise<{ entries: AuditEntry[]; nextAfter: number | null; nextBefore: number | null }> {
    await this.recordRead(filter, ctx, "audit.read");
    const entries = await this.audit.list(filter);
    const full = filter.limit !== undefined && entries.length === filter.limit;
    const next = full ? (entries.at(-1)?.seq ?? null) : null;
    return filter.newestFirst
      ? { entries, nextAfter: null, nextBefore: next }
      : { entries, nextAfter: next, nextBefore: null };
  }

  /**
   * Entries as canonical JSON lines, read page by page (a log of millions streams through). The
   * head is signed first, so a whole-chain export ends with a checkpoint and verifies offline
   * with nothing but the public key.
   */
  async exportLines(filter: AuditFilter, ctx: RequestContext): Promise<AsyncIterable<string>> {
    await this.recordRead(filter, ctx, "audit.export");
    await this.checkpoints.checkpoint();
    const audit = this.audit;
    return (async function* pages() {
      let afterSeq = filter.afterSeq;
      let remaining = filter.limit ?? Number.POSITIVE_INFINITY;
      while (remaining > 0) {
        const page = await audit.list({ ...filter, afterSeq, limit: Math.min(EXPORT_PAGE, remaining) });
        for (const entry of page) yield `${auditLine(entry)}\n`;
        if (page.length < EXPORT_PAGE) return;
        remaining -= page.length;
        afterSeq = page.at(-1)?.seq;
      }
    })();
  }

  /**
   * Walks the whole chain in the store, with the checkpoint signatures checked against the
   * vault's own key: what the UI's "verify chain" shows. An auditor's independent check stays
   * the offline one (`audit verify --file --public-key`); this one answers "is it intact now".
   */
  async verify(ctx: RequestContext): Promise<ChainReport> {
    await this.recordRead({}, ctx, "audit.verify");
    const verifier = new ChainVerifier(parsePublicKey(await this.publicKey()));
    let afterSeq: number | undefined;
    for (;;) {
      const page = await this.audit.list({ afterSeq, limit: EXPORT_PAGE });
      for (const entry of page) if (!verifier.add(entry)) return verifier.report();
      if (page.length < EXPORT_PAGE) return verifier.report();
      afterSeq = page.at(-1)?.seq;
    }
  }

  /** The checkpoint verification key (PEM); public, readable while sealed. */
  async publicKey(): Promise<string> {
    const pem = await this.seal.auditPublicKey();
    if (pem) return pem;
    const { initialized } = await this.seal.status();
    throw initialized
      ? new BreakglassError("SEALED", "the audit public key is published at the first unseal: unseal once")
      : new BreakglassError("NOT_INITIALIZED", "Vault is not initialized");
  }

  private async recordRead(filter: AuditFilter, ctx: RequestContext, action: AuditAction): Promise<void> {
    await this.audit.record(ctx, {
      action,
      target: "audit",
      outcome: "allowed",
      details: { filter: JSON.stringify(filter) },
    });
  }
}
