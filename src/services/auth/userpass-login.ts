import { hash, verify } from "@node-rs/argon2";
import type { Clock } from "../../core/clock.js";
import { BreakglassError, TooManyAttemptsError } from "../../core/errors.js";
import {
  ADDRESS_RUN_SECONDS,
  FREE_FAILURES,
  LONGEST_LOCKOUT_SECONDS,
  lockEnds,
  lockoutSeconds,
} from "../../core/people.js";
import type { CountedLoginAttempt, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { EventNotice } from "../notify/events.js";
import type { PeopleService } from "../people/people.js";
import type { SecondFactorService } from "../people/second-factor.js";
import type { PasskeyService } from "./passkeys.js";
import type { StepUpProof } from "./step-up.js";
import type { IssuedToken, TokenService } from "./tokens.js";

export const DEFAULT_LOGIN_TTL_SECONDS = 8 * 3600;

/**
 * Vault's userpass login, with a growing lockout per user and per address after repeated
 * failures (README, "Logins"). Every attempt is counted, then decided, then audited.
 */
export class UserpassLogin {
  /** Verified against when the user does not exist, so a wrong name costs as long as a wrong password. */
  private readonly decoyHash = hash("breakglass decoy password, never valid");

  constructor(
    private readonly store: Store,
    private readonly people: PeopleService,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private readonly secondFactor: SecondFactorService,
    private readonly passkeys: PasskeyService,
    private readonly clock: Clock,
    private readonly ttlSeconds: number = DEFAULT_LOGIN_TTL_SECONDS,
  ) {}

  async login(
    username: string,
    password: string,
    secondFactor: string | null,
    ctx: RequestContext,
    passkey: StepUpProof | null = null,
  ): Promise<IssuedToken> {
    const now = this.clock.now();
    const at = new Date(now).toISOString();
    // Counted before anything is checked, so that concurrent guesses cannot all pass one lock.
    const counted = await this.countAttempt(username, ctx, now, at);
    const deny = (problem: string, notify?: EventNotice) =>
      this.audit.record(ctx, {
        action: "auth.userpass.login",
        target: `user:${username}`,
        outcome: "denied",
        details: { problem },
        notify,
      });

    // The lock in force was left by the attempt counted just before this one: of all the attempts
    // that come once it has ended, only the first finds it ended.
    if (
      counted.some(
        ({ failures, previousAttemptAt, free }) => lockEnds(failures - 1, previousAttemptAt, free) > now,
      )
    ) {
      // Guessing on during a lockout only makes it longer: the answer names the new end.
      const lockedFor = secondsLockedAfter(counted);
      await deny("locked out after repeated failures");
      throw new TooManyAttemptsError(
        `too many failed logins for this user or address: try again in ${lockedFor} s`,
        lockedFor,
      );
    }
    const user = await this.store.findUser(username);
    const matches = await verify(user?.passwordHash ?? (await this.decoyHash), password).catch(() => false);
    // A person with a second factor (a TOTP, passkeys) needs one of them too; a missing or wrong one
    // is a failed login like a wrong password.
    const hasPasskeys = Boolean(user && matches && (await this.passkeys.hasPasskeys(username)));
    const factorOk =
      !user ||
      !matches ||
      (user.mfaState !== "enabled" && !hasPasskeys) ||
      (await this.secondFactorProven(
        username,
        user.mfaState === "enabled",
        hasPasskeys,
        secondFactor,
        passkey,
        ctx,
      ));
    if (!user || !matches || !factorOk || user.disabled) {
      // The attempt is already counted as a failure: its lock runs from when it came.
      const locked: EventNotice | undefined =
        secondsLockedAfter(counted) > 0
          ? {
              type: "login.locked",
              actor: `user:${username}`,
              text: `logins for user:${username} (or from ${ctx.remoteAddr ?? "its address"}) are locked out after repeated wrong passwords`,
            }
          : undefined;
      await deny(
        !user
          ? "no such user"
          : !matches
            ? "wrong password"
            : factorOk
              ? "blocked by an admin"
              : hasPasskeys && passkey
                ? "missing or wrong passkey"
                : "missing or wrong second-factor code",
        locked,
      );
      // The same answer whichever part was wrong: no oracle for passwords or second factors.
      throw new BreakglassError("LOGIN_FAILED", "invalid username or password");
    }
    // The person's run of failures ends; the address's does not (others behind it may be
    // guessing): only this attempt is taken back.
    for (const { subject, kind } of counted)
      if (kind === "user") await this.store.clearLoginFailures(subject);
      else await this.store.uncountLoginAttempt(subject, at);
    const policies = (await this.people.identityOf(username))?.policies ?? ["default"];
    const issued = await this.tokens.issueLoginToken(username, policies, this.ttlSeconds);
    // From here the person is known: the entry names them, with the token they now hold.
    const { tokenHmac: _hmac, ...token } = issued.record;
    await this.audit.record(
      { ...ctx, actor: { ...token, principals: [] } },
      {
        action: "auth.userpass.login",
        target: `user:${username}`,
        outcome: "allowed",
        details: { token: `token:${issued.record.accessor}`, policies: policies.join(",") },
      },
    );
    return issued;
  }

  /** Whether the second factor given proves the person: a passkey's assertion, or their TOTP's code. */
  private async secondFactorProven(
    username: string,
    hasTotp: boolean,
    hasPasskeys: boolean,
    code: string | null,
    passkey: StepUpProof | null,
    ctx: RequestContext,
  ): Promise<boolean> {
    if (hasPasskeys && passkey?.assertion)
      return this.passkeys.checkAtLogin(username, passkey.assertion, passkey.rp, ctx);
    if (hasTotp && code !== null) return this.secondFactor.checkAtLogin(username, code, ctx);
    return false;
  }

  /** Counts the attempt against the user and against the address it comes from. */
  private async countAttempt(
    username: string,
    ctx: RequestContext,
    now: number,
    at: string,
  ): Promise<CountedSubject[]> {
    const user = `user:${username}`;
    const counted: CountedSubject[] = [
      {
        kind: "user",
        subject: user,
        free: FREE_FAILURES.user,
        ...(await this.store.countLoginAttempt(user, at, null)),
      },
    ];
    if (ctx.remoteAddr) {
      const address = `addr:${ctx.remoteAddr}`;
      const run = {
        startedBefore: new Date(now - ADDRESS_RUN_SECONDS * 1000).toISOString(),
        quietSince: new Date(now - LONGEST_LOCKOUT_SECONDS * 1000).toISOString(),
      };
      counted.push({
        kind: "address",
        subject: address,
        free: FREE_FAILURES.address,
        ...(await this.store.countLoginAttempt(address, at, run)),
      });
    }
    return counted;
  }
}

/** A subject a login attempt was counted against, with the count this attempt made. */
interface CountedSubject extends CountedLoginAttempt {
  kind: "user" | "address";
  subject: string;
  free: number;
}

/** How long the lock this attempt leaves lasts, should it fail: the longest of its subjects'. */
function secondsLockedAfter(counted: CountedSubject[]): number {
  return Math.max(0, ...counted.map(({ failures, free }) => lockoutSeconds(failures, free)));
}
