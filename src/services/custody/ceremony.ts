import { randomUUID } from "node:crypto";
import type { AuditAction } from "../../core/audit-actions.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { badInput, conflict } from "../../core/errors.js";
import { KEY_BYTES } from "../../core/keyring.js";
import { combineShares } from "../../core/shamir.js";
import type { AuditLog } from "../audit/audit-log.js";
import { actorLabel, type RequestContext } from "../context.js";
import type { EventNotice, NotificationEventType } from "../notify/events.js";
import type { SealService } from "../seal/seal.js";
import { decodeShare, ShareCollector, wrongShareLength } from "./share-collector.js";

/** Who started an attempt, as the server saw them: custodians check it before giving a share. */
export interface CeremonyStart {
  /** `token:ACCESSOR`, or `anonymous` (rekey and generate-root need no token, as in Vault). */
  actor: string;
  /** The display name of the token that came with the request (`root`, `userpass-alice`), if any. */
  displayName: string | null;
  remoteAddr: string | null;
  userAgent: string | null;
  at: string;
}

export interface CeremonyProgress<P> {
  started: boolean;
  nonce: string;
  startedBy: CeremonyStart | null;
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

/** One attempt, from its start to its end: a share is added only to the attempt its nonce named. */
interface Attempt<P> {
  readonly nonce: string;
  readonly params: P;
  readonly startedBy: CeremonyStart;
  readonly shares: ShareCollector;
  given: (string | null)[];
}

/**
 * One quorum ceremony (rekey, root token, seed export): started with its parameters, then fed
 * shares with its nonce until the vault's threshold of distinct shares proves the root key. Held in
 * this node's memory only, like Vault's: run a ceremony against one node. Each ceremony extends
 * this with its own start and its deed.
 */
export abstract class QuorumCeremony<P> {
  private attempt: Attempt<P> | null = null;

  constructor(
    protected readonly seal: SealService,
    protected readonly audit: AuditLog,
    protected readonly clock: Clock,
    /** The audit action of every step, e.g. `sys.rekey`. */
    private readonly action: AuditAction,
    /** How a person names it in a message: "a rekey". */
    private readonly what: string,
    /** The notification of its start, cancellation and completion. */
    private readonly eventType: NotificationEventType,
  ) {
    // Sealing ends every attempt: no share outlives the keys it was given to reach.
    seal.box.onWipe(() => this.end());
  }

  async progress(): Promise<CeremonyProgress<P>> {
    const config = await this.seal.initializedConfig();
    const custodians = await this.seal.custodians();
    const attempt = this.attempt;
    const given = attempt?.given ?? [];
    return {
      started: attempt !== null,
      nonce: attempt?.nonce ?? "",
      startedBy: attempt?.startedBy ?? null,
      progress: attempt?.shares.progress ?? 0,
      required: config.secretThreshold,
      given: [...given],
      missing: attempt === null ? [] : custodians.map((c) => c.name).filter((name) => !given.includes(name)),
      params: attempt?.params ?? null,
    };
  }

  /**
   * Starts an attempt: on the audit log with what it will produce (`details`) and its nonce, then
   * told to the team (`type`, with `produces` said in words), so that an attempt nobody expected
   * is seen. The nonce is what the starter announces to the custodians, out of band.
   */
  protected async begin(
    params: P,
    ctx: RequestContext,
    announce: {
      produces: string;
      details: Record<string, string | number | null>;
      key?: string;
    },
  ): Promise<string> {
    this.seal.box.keyringOrThrow();
    this.refuseWhileInProgress();
    const nonce = randomUUID();
    const startedBy = startOf(ctx, isoTime(this.clock));
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: { stage: "started", nonce, ...announce.details },
      notify: this.notice(
        ctx,
        `${describeStarter(startedBy)} started ${this.what} (nonce ${nonce}) that will ${announce.produces}: ` +
          "custodians give a share only if the person who asked announced that nonce",
        announce.key,
      ),
    });
    if (this.attempt !== null) this.forget(params); // another start won the race while this one was being recorded
    this.refuseWhileInProgress();
    const shares = new ShareCollector();
    shares.begin(nonce);
    this.attempt = { nonce, params, startedBy, shares, given: [] };
    return nonce;
  }

  /** Anyone may cancel, as in Vault: a custodian who does not recognise an attempt stops it. Told to the team. */
  async cancel(ctx: RequestContext): Promise<void> {
    const attempt = this.attempt;
    if (attempt === null) return;
    const nonce = attempt.nonce;
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: { stage: "cancelled", nonce },
      notify: this.notice(
        ctx,
        `${describeStarter(startOf(ctx, isoTime(this.clock)))} cancelled ${this.what} (nonce ${nonce})`,
      ),
    });
    if (this.attempt === attempt) this.end(); // not one started since, by someone else
  }

  /** Overwrites whatever secret the attempt's parameters hold (a one-time pad); run when it ends. */
  protected forget(_params: P): void {}

  /**
   * Takes one share. Returns the parameters once the threshold of distinct shares proved the root
   * key (the attempt is then over; the caller does the deed and then forgets the parameters'
   * secrets); null while more are needed.
   */
  protected async takeShare(
    key: string | undefined,
    nonce: string | undefined,
    ctx: RequestContext,
  ): Promise<P | null> {
    this.seal.box.keyringOrThrow();
    const config = await this.seal.initializedConfig();
    // From here on, the share goes to this attempt or to none: after each wait, it must still be the one in progress.
    const attempt = this.attempt;
    if (attempt === null)
      throw badInput(`no ${this.what.replace(/^an? /, "")} is in progress: start one first`);
    if (key === undefined || key === "") throw badInput("'key' must be given: one unseal key share");
    if (nonce !== attempt.nonce)
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
    let custodian: string | null;
    try {
      custodian = await this.seal.custodianOf(config, share);
      this.refuseUnlessCurrent(attempt);
    } catch (error) {
      share.fill(0);
      throw error;
    }
    if (!attempt.shares.add(share)) return null;
    attempt.given.push(custodian);
    await this.audit.record(ctx, {
      action: this.action,
      outcome: "allowed",
      details: {
        stage: "share",
        progress: attempt.shares.progress,
        required: config.secretThreshold,
        custodian,
      },
    });
    this.refuseUnlessCurrent(attempt);
    if (attempt.shares.progress < config.secretThreshold) return null;

    let candidate: Uint8Array | null = null;
    let proved = false;
    try {
      candidate = await combineShares(attempt.shares.given(), KEY_BYTES);
      proved = this.seal.isRootKey(candidate);
    } catch {
      proved = false; // forged or mixed-up shares: the same answer whatever the library says
    } finally {
      candidate?.fill(0);
    }
    this.refuseUnlessCurrent(attempt);
    if (!proved) {
      attempt.shares.reset();
      attempt.shares.begin(attempt.nonce);
      attempt.given = [];
      await this.audit.record(ctx, {
        action: this.action,
        outcome: "failed",
        details: { problem: "shares do not combine into this vault's key" },
      });
      throw badInput(
        `the shares given do not combine into this vault's key: progress was reset (same nonce), give ${config.secretThreshold} shares again`,
      );
    }
    this.release(); // over: the parameters are the caller's now, to use for the deed and forget
    return attempt.params;
  }

  /** What the people who must know are told (webhooks, e-mail), with the audit entry of the deed. */
  protected notice(ctx: RequestContext, text: string, key?: string): EventNotice {
    return { type: this.eventType, actor: actorLabel(ctx.actor), ...(key ? { key } : {}), text };
  }

  private refuseWhileInProgress(): void {
    if (this.attempt !== null)
      throw conflict(`${this.what} is already in progress (nonce ${this.attempt.nonce}): cancel it first`);
  }

  /** A share checked while its attempt was cancelled or restarted goes nowhere (the new attempt is someone else's). */
  private refuseUnlessCurrent(attempt: Attempt<P>): void {
    if (this.attempt !== attempt)
      throw conflict(
        `${this.what} (nonce ${attempt.nonce}) was cancelled or restarted while this share was checked: it was not counted`,
      );
  }

  private end(): void {
    if (this.attempt !== null) this.forget(this.attempt.params);
    this.release();
  }

  private release(): void {
    this.attempt?.shares.reset();
    this.attempt = null;
  }
}

function startOf(ctx: RequestContext, at: string): CeremonyStart {
  return {
    actor: actorLabel(ctx.actor),
    displayName: ctx.actor?.displayName ?? null,
    remoteAddr: ctx.remoteAddr,
    userAgent: ctx.userAgent,
    at,
  };
}

/** "token:AB12 (root) from 10.0.0.7 (curl/8.5)": who, as the server saw them. */
function describeStarter(start: CeremonyStart): string {
  const who = start.displayName ? `${start.actor} (${start.displayName})` : start.actor;
  return `${who} from ${start.remoteAddr ?? "an unknown address"}${start.userAgent ? ` (${start.userAgent})` : ""}`;
}
