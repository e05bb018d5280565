import { BarrierOpenError } from "../../core/barrier.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { badInput, conflict, notFound, permissionDenied } from "../../core/errors.js";
import { checkParameters, generateSeed, matchingStep, type TotpParameters } from "../../core/totp.js";
import type { SecondFactorRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { SecretBox } from "../seal/secret-box.js";
import { type Enrolment, enrolmentOf } from "../totp/enrolment.js";

/** Every second factor is enrolled so: what authenticator apps all understand. */
const PARAMETERS: TotpParameters = { algorithm: "SHA1", digits: 6, period: 30 };
const SEED_BYTES = 20;
/** A code of the step before or after is accepted too (clocks drift). */
const SKEW = 1;
const ISSUER = "breakglass";

/**
 * Associated data of a second factor's sealed seed: it opens only as that person's, at that key
 * version. A factor moved out of the TOTP engine by migration 0010 opens as it was sealed there
 * (`sealedAs` "totp_keys") until the re-encryption at the next unseal seals it as its own row.
 */
export const secondFactorSeedAad =
  (username: string, sealedAs = "second_factors") =>
  (keyVersion: number) =>
    sealedAs === "totp_keys"
      ? `totp_keys/userpass-mfa.${username}/v${keyVersion}`
      : `second_factors/${username}/v${keyVersion}`;

/**
 * A person's own second factor: shown once to enrol, confirmed with a code, then asked for at every
 * login, each code accepted once. Its seed lives in a table of its own, reached only from here:
 * enrolment and confirmation by the person, the login check, and an admin's reset (deleting the
 * person deletes it too). Nobody reads its codes, and nothing under /v1/totp sees it.
 */
export class SecondFactorService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async enrol(ctx: RequestContext): Promise<Enrolment> {
    const username = personOf(ctx);
    const user = await this.store.findUser(username);
    if (!user) throw permissionDenied();
    if (user.mfaState === "enabled") throw alreadyEnabled();
    const seed = generateSeed(SEED_BYTES);
    try {
      const { ciphertext, keyVersion } = this.box.sealSecret(seed, secondFactorSeedAad(username));
      // A pending one that was never confirmed is replaced.
      const begun = await this.store.secondFactors.begin({
        username,
        seedCiphertext: ciphertext,
        keyVersion,
        sealedAs: "second_factors",
        ...PARAMETERS,
        skew: SKEW,
        state: "pending",
        lastAcceptedStep: null,
        createdAt: isoTime(this.clock),
        enabledAt: null,
      });
      if (!begun) throw alreadyEnabled();
      await this.audit.record(ctx, {
        action: "people.mfa.enrol",
        target: `user:${username}`,
        outcome: "allowed",
      });
      return await enrolmentOf(seed, { ...PARAMETERS, issuer: ISSUER, accountName: username });
    } finally {
      seed.fill(0);
    }
  }

  async confirm(code: string, ctx: RequestContext): Promise<void> {
    const username = personOf(ctx);
    const pending = await this.store.secondFactors.find(username);
    if (pending?.state !== "pending")
      throw badInput("no second factor is waiting for confirmation: enrol first");
    const { step, problem } = await this.stepOf(pending, code);
    const enabled =
      step !== null && (await this.store.secondFactors.enable(pending, step, isoTime(this.clock)));
    await this.audit.record(ctx, {
      action: "people.mfa.confirm",
      target: `user:${username}`,
      outcome: enabled ? "allowed" : "denied",
      ...(problem ? { details: { problem } } : {}),
    });
    if (!enabled)
      throw badInput("that code was not accepted: use the current code of the key you just enrolled");
  }

  /** At login: whether the code is right for the person's enabled second factor (each code once). */
  async checkAtLogin(username: string, code: string, ctx: RequestContext): Promise<boolean> {
    const factor = await this.store.secondFactors.find(username);
    if (factor?.state !== "enabled") return false;
    const { step, problem } = await this.stepOf(factor, code);
    const accepted = step !== null && (await this.store.secondFactors.acceptStep(username, step));
    await this.audit.record(ctx, {
      action: "people.mfa.check",
      target: `user:${username}`,
      outcome: accepted ? "allowed" : "denied",
      details: problem ? { problem } : { reused: step !== null && !accepted },
    });
    return accepted;
  }

  /** An admin's reset: the person's second factor is gone, and they may enrol a new one. */
  async reset(username: string, ctx: RequestContext): Promise<void> {
    const user = await this.store.findUser(username);
    await this.audit.record(ctx, {
      action: "people.mfa.reset",
      target: `user:${username}`,
      outcome: user ? "allowed" : "failed",
      ...(user ? { details: { was: user.mfaState } } : {}),
    });
    if (!user) throw notFound(`no user named ${username}`);
    await this.store.secondFactors.remove(username);
  }

  /** The step whose code `code` is, within the skew; null when it is no such code (or none can be). */
  private async stepOf(
    factor: SecondFactorRecord,
    code: string,
  ): Promise<{ step: number | null; problem?: string }> {
    if (!new RegExp(`^[0-9]{${factor.digits}}$`).test(code)) return { step: null };
    await this.box.takeUpKeyVersion(factor.keyVersion); // rotated on another node
    const aad = secondFactorSeedAad(factor.username, factor.sealedAs)(factor.keyVersion);
    let seed: Buffer;
    try {
      seed = this.box.openSecret(factor.seedCiphertext, factor.keyVersion, aad);
    } catch (error) {
      if (!(error instanceof BarrierOpenError)) throw error;
      return { step: null, problem: "the stored second factor does not open" }; // damaged or moved by hand
    }
    try {
      return {
        step: matchingStep(seed, checkParameters(factor), code, this.clock.now() / 1000, factor.skew),
      };
    } finally {
      seed.fill(0);
    }
  }
}

function personOf(ctx: RequestContext): string {
  const username = ctx.actor?.username;
  if (!username) throw badInput("only a person (a userpass login) has a second factor");
  return username;
}

function alreadyEnabled() {
  return conflict("a second factor is already enabled; an admin can reset it");
}
