import { BreakglassError, badInput, permissionDenied } from "../core/errors.js";
import type { Store } from "../store/store.js";
import type { AuditLog } from "./audit.js";
import type { RequestContext } from "./context.js";
import { type Enrolment, SECOND_FACTOR_PREFIX, type TotpService } from "./totp.js";

/**
 * A person's own second factor: a TOTP key in this very engine (named userpass-mfa.NAME), shown
 * once to enrol, confirmed with a code, then asked for at every login through the engine's
 * validate path (each code accepted once). Nobody can read its codes.
 */
export class SecondFactorService {
  constructor(
    private readonly store: Store,
    private readonly totp: TotpService,
    private readonly audit: AuditLog,
  ) {}

  async enrol(ctx: RequestContext): Promise<Enrolment> {
    const username = personOf(ctx);
    const user = await this.store.findUser(username);
    if (!user) throw permissionDenied();
    if (user.mfaState === "enabled")
      throw new BreakglassError("CONFLICT", "a second factor is already enabled; an admin can reset it");
    const keyName = SECOND_FACTOR_PREFIX + username;
    await this.store.deleteTotpKey(keyName); // a pending one that was never confirmed is replaced
    const enrolment = await this.totp.createKeyDecided(
      keyName,
      { generate: true, exported: true, issuer: "breakglass", accountName: username, skew: 1 },
      ctx,
    );
    await this.store.putUser({ ...user, mfaState: "pending", updatedAt: new Date().toISOString() });
    await this.audit.record(ctx, {
      action: "people.mfa.enrol",
      target: `user:${username}`,
      outcome: "allowed",
    });
    return enrolment as Enrolment;
  }

  async confirm(code: string, ctx: RequestContext): Promise<void> {
    const username = personOf(ctx);
    const user = await this.store.findUser(username);
    if (user?.mfaState !== "pending")
      throw badInput("no second factor is waiting for confirmation: enrol first");
    if (!(await this.totp.validateCodeDecided(SECOND_FACTOR_PREFIX + username, code, ctx)))
      throw badInput("that code was not accepted: use the current code of the key you just enrolled");
    await this.store.putUser({ ...user, mfaState: "enabled", updatedAt: new Date().toISOString() });
    await this.audit.record(ctx, {
      action: "people.mfa.confirm",
      target: `user:${username}`,
      outcome: "allowed",
    });
  }

  /** At login: whether the code is right for a person with an enabled second factor. */
  checkAtLogin(username: string, code: string, ctx: RequestContext): Promise<boolean> {
    return this.totp.validateCodeDecided(SECOND_FACTOR_PREFIX + username, code, ctx).catch(() => false);
  }
}

function personOf(ctx: RequestContext): string {
  const username = ctx.actor?.username;
  if (!username) throw badInput("only a person (a userpass login) has a second factor");
  return username;
}
