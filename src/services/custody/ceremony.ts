import { badInput, conflict } from "../../core/errors.js";
import { KEY_BYTES } from "../../core/keyring.js";
import { combineShares } from "../../core/shamir.js";
import type { AuditLog } from "../audit.js";
import { actorLabel, type RequestContext } from "../context.js";
import type { NotificationEventType, Notifier } from "../notify/events.js";
import type { SealService } from "../seal.js";
import { decodeShare, ShareCollector, wrongShareLength } from "./share-collector.js";

export interface CeremonyProgress<P> {
  started: boolean;
  nonce: string;
  /** Distinct shares given so far. */
  progress: number;
  /** Shares needed: the vault's threshold. */
  required: number;
  /** The custodians whose shares were given, by name (null for a share no custodian is recorded for). */
  given: (string | null)[];
  /** The custodians who have not given theirs yet. */
  missing: string[];
  params: P | null;
}

/**
 * One quorum ceremony (rekey, root token, seed export): started with its parameters, then fed
 * shares with its nonce until the vault's threshold of distinct shares proves the root key. Held in
 * this node's memory only, like Vault's: run a ceremony against one node. Each ceremony extends
 * this with its own start and its deed.
 */
export abstract class QuorumCeremony<P> {
  private params: P | null = null;
  private readonly shares = new ShareCollector();
  private given: (string | null)[] = [];

  constructor(
    protected readonly seal: SealService,
    protected readonly audit: AuditLog,
    protected readonly notifier: Notifier,
    /** The audit action of every step, e.g. `sys.rekey`. */
    private readonly action: string,
    /** How a person names it in a message: "a rekey". */
    private readonly what: string,
  ) {
    // Sealing ends every attempt: no share outlives the keys it was given to reach.
    seal.onWipe(() => this.end());
  }

  async progress(): Promise<CeremonyProgress<P>> {
    const config = await this.seal.initializedConfig();
    const custodians = await this.seal.custodians();
    return {
      started: this.params !== null,
      nonce: this.shares.nonce,
      progress: this.shares.progress,
      required: config.secretThreshold,
      given: [...this.given],
      missing:
        this.params === null
          ? []
          : custodians.map((c) => c.name).filter((name) => !this.given.includes(name)),
      params: this.params,
    };
  }

  protected async begin(
    params: P,
    ctx: RequestContext,
    details: Record<string, string | number | null>,
  ): Promise<void> {
    this.seal.keyringOrThrow();
    if (this.params !== null)
      throw conflict(`${this.what} is already in progress (nonce ${this.shares.nonce}): cancel it first`);
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: { stage: "started", ...details },
    });
    this.params = params;
    this.shares.begin();
  }

  async cancel(ctx: RequestContext): Promise<void> {
    if (this.params === null) return;
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: { stage: "cancelled" },
    });
    this.end();
  }

  /**
   * Takes one share. Returns the parameters once the threshold of distinct shares proved the root
   * key (the attempt is then over and the caller does the deed); null while more are needed.
   */
  protected async takeShare(
    key: string | undefined,
    nonce: string | undefined,
    ctx: RequestContext,
  ): Promise<P | null> {
    this.seal.keyringOrThrow();
    const config = await this.seal.initializedConfig();
    if (this.params === null)
      throw badInput(`no ${this.what.replace(/^an? /, "")} is in progress: start one first`);
    if (key === undefined || key === "") throw badInput("'key' must be given: one unseal key share");
    if (nonce !== this.shares.nonce)
      throw badInput(
        "nonce does not match the attempt in progress: check the nonce, or the attempt was restarted",
      );
    const share = decodeShare(key, config.secretThreshold);
    if (share === null) {
      await this.audit.record(ctx, {
        action: this.action,
        outcome: "denied",
        details: { problem: "wrong share length" },
      });
      throw badInput(wrongShareLength(config.secretThreshold));
    }
    const custodian = await this.seal.custodianOf(config, share);
    if (!this.shares.add(share)) return null;
    this.given.push(custodian);
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: {
        stage: "share",
        progress: this.shares.progress,
        required: config.secretThreshold,
        custodian,
      },
    });
    if (this.shares.progress < config.secretThreshold) return null;

    let candidate: Uint8Array | null = null;
    let proved = false;
    try {
      candidate = await combineShares(this.shares.given(), KEY_BYTES);
      proved = this.seal.isRootKey(candidate);
    } catch {
      proved = false; // forged or mixed-up shares: the same answer whatever the library says
    } finally {
      candidate?.fill(0);
    }
    const params = this.params;
    if (!proved) {
      this.shares.reset();
      this.shares.begin();
      this.given = [];
      await this.audit.record(ctx, {
        action: this.action,
        outcome: "failed",
        details: { problem: "shares do not combine into this vault's key" },
      });
      throw badInput(
        `the shares given do not combine into this vault's key: progress was reset (same nonce), give ${config.secretThreshold} shares again`,
      );
    }
    this.end();
    return params;
  }

  /** Tells the people who must know (webhooks, e-mail); never waits. */
  protected tell(ctx: RequestContext, type: NotificationEventType, text: string, key?: string): void {
    this.notifier.notify({
      type,
      time: new Date().toISOString(),
      actor: actorLabel(ctx.actor),
      ...(key ? { key } : {}),
      text,
      requestId: ctx.requestId,
    });
  }

  private end(): void {
    this.params = null;
    this.shares.reset();
    this.given = [];
  }
}
