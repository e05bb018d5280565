import { hash, verify } from "@node-rs/argon2";
import { badInput, TooManyAttemptsError } from "../core/errors.js";
import { FREE_FAILURES, lockoutSeconds } from "../core/people.js";
import type { Store } from "../store/store.js";
import type { AuditLog } from "./audit.js";
import type { RequestContext } from "./context.js";
import type { Notifier } from "./notify/events.js";
import type { PeopleService } from "./people.js";
import type { SecondFactorService } from "./second-factor.js";
import type { IssuedToken, TokenService } from "./tokens.js";

export const DEFAULT_LOGIN_TTL_SECONDS = 8 * 3600;

/** Vault's userpass login, with a growing lockout per user and per address after repeated failures. */
export class UserpassLogin {
  /** Verified against when the user does not exist, so a wrong name costs as long as a wrong password. */
  private readonly decoyHash = hash("breakglass decoy password, never valid");

  constructor(
    private readonly store: Store,
    private readonly people: PeopleService,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private readonly notifier: Notifier,
    private readonly secondFactor: SecondFactorService,
    private readonly ttlSeconds: number = DEFAULT_LOGIN_TTL_SECONDS,
  ) {}

  async login(
    username: string,
    password: string,
    secondFactor: string | null,
    ctx: RequestContext,
  ): Promise<IssuedToken> {
    const subjects: [string, number][] = [
      [`user:${username}`, FREE_FAILURES.user],
      ...(ctx.remoteAddr ? ([[`addr:${ctx.remoteAddr}`, FREE_FAILURES.address]] as [string, number][]) : []),
    ];
    const deny = (problem: string) =>
      this.audit.record(ctx, {
        action: "auth.userpass.login",
        target: `user:${username}`,
        outcome: "denied",
        details: { problem },
      });

    if ((await this.secondsLocked(subjects)) > 0) {
      // Guessing on during a lockout only makes it longer: the answer names the new end.
      await this.countFailure(subjects);
      const lockedFor = await this.secondsLocked(subjects);
      await deny("locked out after repeated failures");
      throw new TooManyAttemptsError(
        `too many failed logins for this user or address: try again in ${lockedFor} s`,
        lockedFor,
      );
    }
    const user = await this.store.findUser(username);
    const matches = await verify(user?.passwordHash ?? (await this.decoyHash), password).catch(() => false);
    // A person with a second factor needs its code too; a missing or wrong one is a failed login like a wrong password.
    const factorOk =
      !user ||
      !matches ||
      user.mfaState !== "enabled" ||
      (secondFactor !== null && (await this.secondFactor.checkAtLogin(username, secondFactor, ctx)));
    if (!user || !matches || !factorOk) {
      await this.countFailure(subjects);
      if ((await this.secondsLocked(subjects)) > 0)
        this.notifier.notify({
          type: "login.locked",
          time: new Date().toISOString(),
          actor: `user:${username}`,
          text: `logins for user:${username} (or from ${ctx.remoteAddr ?? "its address"}) are locked out after repeated wrong passwords`,
          requestId: ctx.requestId,
        });
      await deny(
        !user ? "no such user" : !matches ? "wrong password" : "missing or wrong second-factor code",
      );
      // The same answer whichever part was wrong: no oracle for passwords or second factors.
      throw badInput("invalid username or password");
    }
    for (const [subject] of subjects) await this.store.clearLoginFailures(subject);
    const policies = (await this.people.identityOf(username))?.policies ?? ["default"];
    const issued = await this.tokens.issueLoginToken(username, policies, this.ttlSeconds);
    await this.audit.record(ctx, {
      action: "auth.userpass.login",
      target: `user:${username}`,
      outcome: "allowed",
      details: { token: `token:${issued.record.accessor}`, policies: policies.join(",") },
    });
    return issued;
  }

  private async countFailure(subjects: [string, number][]): Promise<void> {
    const now = Date.now();
    for (const [subject, free] of subjects)
      await this.store.addLoginFailure(subject, (failures) => {
        const seconds = lockoutSeconds(failures, free);
        return seconds > 0 ? new Date(now + seconds * 1000).toISOString() : null;
      });
  }

  private async secondsLocked(subjects: [string, number][]): Promise<number> {
    let seconds = 0;
    for (const [subject] of subjects) {
      const until = (await this.store.readLoginFailures(subject))?.lockedUntil;
      if (until) seconds = Math.max(seconds, Math.ceil((Date.parse(until) - Date.now()) / 1000));
    }
    return seconds;
  }
}
