import { setImmediate as nextTurn } from "node:timers/promises";
import type { SealedRow, SealedRowKind, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import { sinkSecretAad } from "../audit/sinks/sink-manager.js";
import { clientSecretAad, refreshTokenAad } from "../auth/oidc-settings.js";
import type { RequestContext } from "../context.js";
import { describeError, type SinkLog } from "../delivery/transport.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import { smtpPasswordAad, webhookSecretAad } from "../notify/notify-config.js";
import { secondFactorSeedAad } from "../people/second-factor.js";
import { seedAad } from "../totp/totp.js";
import type { SealService } from "./seal.js";

/** How often each node re-reads the keyring, to take up a rotation made on another node. */
export const KEYRING_RELOAD_MS = 2_000;
/** Rows re-encrypted between two turns of the event loop. */
const BATCH_ROWS = 200;

/**
 * Each kind of sealed row's associated data, as the module that seals it builds it; for a row
 * sealed as another's (`sealedAs`), as it was sealed then. Re-sealed rows are their own.
 */
const AAD_OF: Record<SealedRowKind, (id: string, sealedAs?: string) => (keyVersion: number) => string> = {
  totp_seed: seedAad,
  second_factor_seed: secondFactorSeedAad,
  audit_sink_secret: sinkSecretAad,
  notify_webhook_secret: webhookSecretAad,
  notify_smtp_password: () => smtpPasswordAad,
  oidc_client_secret: clientSecretAad,
  oidc_refresh_token: refreshTokenAad,
};
const KINDS = Object.keys(AAD_OF) as SealedRowKind[];

export interface KeyStatus {
  /** The current data key version (Vault's "term"). */
  term: number;
  /** When it was added (ISO 8601); the epoch for a key made before install times were kept. */
  installTime: string;
  /** Sealed secrets per data key version, every kind of row together. */
  rowsByVersion: Record<string, number>;
  reencryptionRunning: boolean;
}

/**
 * Data key rotation: a new version seals every new secret at once; a background pass re-seals the
 * older rows under it (and rows a migration moved, still sealed as their old row's: at every unseal),
 * batch by batch, each row replaced only if nobody changed it meanwhile. A
 * seal stops the pass; the next unseal resumes it. Every node re-reads the keyring every
 * KEYRING_RELOAD_MS, so a rotation on one node is taken up by the others.
 */
export class KeyRotationService {
  private readonly reloader: PeriodicRefresh;
  private running: Promise<void> | null = null;
  /** Another pass is wanted once this one ends (a newer term, or an unseal meanwhile). */
  private again = false;
  /** The last pass failed (the store was unreachable): the next reload tick starts another. */
  private failed = false;
  private closed = false;
  /** The request a pass runs for: its audit entry names the same actor and request id. */
  private trigger: RequestContext | null = null;
  /** Rows that did not open, warned about once each. */
  private readonly unopened = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly seal: SealService,
    private readonly audit: AuditLog,
    private readonly log: SinkLog,
  ) {
    this.reloader = new PeriodicRefresh("keyring", KEYRING_RELOAD_MS, () => this.reload(), log);
    // Rows a seal or a restart left under an old key are taken up at the next unseal.
    seal.onKeyringOpened(async (_opened, ctx) => this.startReencryption(ctx));
  }

  async start(): Promise<void> {
    await this.reloader.start();
  }

  /** Stops the reloads and lets a running pass end after its batch. */
  async close(): Promise<void> {
    this.closed = true;
    await this.reloader.stop();
    await this.running;
  }

  /** Adds a data key version (Vault's rotate) and starts re-encrypting the older rows under it. */
  async rotate(ctx: RequestContext): Promise<{ term: number; installedAt: number }> {
    const rotated = await this.seal.rotateDataKey(ctx);
    this.startReencryption(ctx);
    return rotated;
  }

  async status(): Promise<KeyStatus> {
    const { term, installedAt } = this.seal.keyStatus();
    const counts = [...(await this.store.secrets.countByKeyVersion())].sort(([a], [b]) => a - b);
    return {
      term,
      installTime: new Date(installedAt).toISOString(),
      rowsByVersion: Object.fromEntries(counts.map(([version, rows]) => [String(version), rows])),
      reencryptionRunning: this.running !== null,
    };
  }

  private async reload(): Promise<void> {
    await this.seal.box.reloadKeyring();
    if (this.failed && this.trigger && !this.seal.isSealed) this.startReencryption(this.trigger);
  }

  /** Starts a pass, or has the running one go round once more. */
  private startReencryption(ctx: RequestContext): void {
    this.trigger = ctx;
    this.again = true;
    if (this.running === null && !this.closed) this.running = this.runPasses();
  }

  /**
   * Passes until one finds nothing changed under it, then one audit entry for them all. A row
   * another node re-encrypted or rewrote meanwhile may still be under an old key: go round again.
   */
  private async runPasses(): Promise<void> {
    const moved = Object.fromEntries(KINDS.map((kind) => [kind, 0])) as Record<SealedRowKind, number>;
    let last: PassResult = { term: 0, complete: false, contended: false };
    try {
      for (;;) {
        while (this.again && !this.closed) {
          this.again = false;
          // Never within the caller's turn: an unseal waits for its hooks, a rotation answers now.
          await nextTurn();
          last = await this.reencryptAll(moved);
          if (last.contended) this.again = true;
        }
        if (Object.values(moved).some((rows) => rows > 0)) {
          await this.recordPasses(moved, last);
          for (const kind of KINDS) moved[kind] = 0;
        }
        if (!this.again || this.closed) return;
      }
    } finally {
      this.running = null;
    }
  }

  /** One pass over every kind of sealed row, counting into `moved`; stops quietly when sealed or closing. */
  private async reencryptAll(moved: Record<SealedRowKind, number>): Promise<PassResult> {
    const result: PassResult = { term: 0, complete: false, contended: false };
    try {
      for (const kind of KINDS) {
        let after: string | null = null;
        for (;;) {
          if (this.seal.isSealed || this.closed) return result;
          result.term = this.seal.keyStatus().term;
          const rows = await this.store.secrets.listSealedBefore(kind, result.term, after, BATCH_ROWS);
          for (const row of rows) {
            const outcome = await this.reencryptRow(kind, row);
            if (outcome === "moved") moved[kind]++;
            if (outcome === "changed") result.contended = true;
          }
          if (rows.length < BATCH_ROWS) break;
          after = (rows.at(-1) as SealedRow).id;
          await nextTurn(); // requests are served between batches
        }
      }
      result.complete = true;
      this.failed = false;
    } catch (error) {
      if (!this.seal.isSealed && !this.failed)
        this.log.warn({ problem: describeError(error) }, "re-encryption under the new data key paused");
      if (!this.seal.isSealed) this.failed = true;
    }
    return result;
  }

  /** Re-seals one row under the current data key, unless it changed since it was listed or does not open. */
  private async reencryptRow(kind: SealedRowKind, row: SealedRow): Promise<"moved" | "changed" | "unopened"> {
    let plaintext: Buffer;
    try {
      const aad = AAD_OF[kind](row.id, row.sealedAs)(row.keyVersion);
      plaintext = this.seal.box.openSecret(row.ciphertext, row.keyVersion, aad);
    } catch (error) {
      if (this.seal.isSealed) throw error;
      // Damaged or copied from another row: left as it is (reading it fails the same way).
      const which = `${kind}/${row.id}/v${row.keyVersion}`;
      if (!this.unopened.has(which))
        this.log.warn({ kind, row: row.id, problem: describeError(error) }, "sealed secret does not open");
      this.unopened.add(which);
      return "unopened";
    }
    try {
      // A row deleted or rewritten since it was listed keeps that change.
      const next = this.seal.box.sealSecret(plaintext, AAD_OF[kind](row.id));
      return (await this.store.secrets.replaceSealed(kind, row, next)) ? "moved" : "changed";
    } finally {
      plaintext.fill(0);
    }
  }

  private async recordPasses(moved: Record<SealedRowKind, number>, last: PassResult): Promise<void> {
    try {
      await this.audit.record(this.trigger as RequestContext, {
        action: "sys.rotate.reencrypted",
        outcome: "allowed",
        details: { ...moved, term: last.term, complete: last.complete },
      });
    } catch (error) {
      this.log.warn({ problem: describeError(error) }, "re-encryption done but not recorded");
    }
  }
}

interface PassResult {
  /** The data key version rows were re-encrypted under, last. */
  term: number;
  /** Every kind was gone through (not stopped by a seal, a shutdown or the store). */
  complete: boolean;
  /** A row changed between being listed and being replaced. */
  contended: boolean;
}
