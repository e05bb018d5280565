import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { AuditAction } from "../../core/audit-actions.js";
import { BreakglassError, permissionDenied } from "../../core/errors.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import { type PasskeyService, personOf, type RelyingParty, type RelyingPartyOf } from "./passkeys.js";

/** The actions an access rule can put behind a step-up, and what their target is. */
export const STEP_UP_ACTIONS = ["totp.code.read", "approval.approve"] as const;
export type StepUpAction = (typeof STEP_UP_ACTIONS)[number];

/** An assertion a request carries for a step-up, with the relying party of that request. */
export interface StepUpProof {
  assertion: AuthenticationResponseJSON | null;
  rp: RelyingParty;
}

/** What a step-up is for: one action on one target (a credential's name, an approval's id). */
export interface StepUpUse {
  action: StepUpAction;
  target: string;
}

const bindingOf = (use: StepUpUse) => `${use.action} ${use.target}`;

/** Said to a token without a person: only a person has passkeys, so only a person can step up. */
export const MACHINE_STEP_UP_MESSAGE =
  "permission denied: this action needs a passkey step-up, which only a person with a passkey can give; a token without a person (a machine token) cannot perform it";

/**
 * Step-up: proof that the person is present for one sensitive action (a code read under a rule
 * with `step_up`, an approval under `approver_step_up`). The challenge is bound to the person, the
 * action and its target, lives STEP_UP_SECONDS and is used once; the action's audit entry names
 * the passkey. Refusals are recorded under the action itself, as every refusal is.
 */
export class StepUpService {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly audit: AuditLog,
  ) {}

  /** Options for the person's passkeys, the challenge bound to `use`. */
  async begin(ctx: RequestContext, use: StepUpUse, rpOf: RelyingPartyOf) {
    if (!ctx.actor?.username) {
      await this.audit.record(ctx, {
        action: "people.passkey.step-up",
        target: use.target,
        outcome: "denied",
        details: { problem: "a token without a person", for: use.action },
      });
      throw permissionDenied(MACHINE_STEP_UP_MESSAGE);
    }
    return this.passkeys.stepUpOptions(personOf(ctx), bindingOf(use), rpOf());
  }

  /**
   * The passkey credential id that proves presence for `use`, or a refusal recorded under
   * `entry.action` and thrown: a machine token (403 saying so), no assertion or one not accepted
   * (STEP_UP_REQUIRED: expired, used, for another action or person, or not verifying).
   */
  async require(
    ctx: RequestContext,
    use: StepUpUse,
    proof: StepUpProof | null,
    entry: { action: AuditAction; target: string; reason?: string | null; approvalIds?: string[] },
  ): Promise<string> {
    const refuse = async (problem: string, error: BreakglassError) => {
      await this.audit.record(ctx, {
        action: entry.action,
        target: entry.target,
        outcome: "denied",
        reason: entry.reason ?? null,
        approvalIds: entry.approvalIds ?? [],
        details: {
          problem,
          ...(proof?.assertion ? { passkey: proof.assertion.id.slice(0, 200) } : {}),
        },
      });
      return error;
    };
    const username = ctx.actor?.username;
    if (!username)
      throw await refuse(
        "step-up asked of a token without a person",
        permissionDenied(MACHINE_STEP_UP_MESSAGE),
      );
    if (!proof?.assertion)
      throw await refuse(
        "no passkey step-up given",
        new BreakglassError(
          "STEP_UP_REQUIRED",
          `this needs a passkey step-up: begin one for ${bindingOf(use)} and send its assertion with the request`,
        ),
      );
    const check = await this.passkeys.verifyAssertion(
      username,
      "step-up",
      bindingOf(use),
      proof.assertion,
      proof.rp,
    );
    if ("problem" in check)
      throw await refuse(
        `passkey step-up not accepted: ${check.problem}`,
        new BreakglassError(
          "STEP_UP_REQUIRED",
          "the passkey step-up was not accepted (expired, used already, or for another action): begin a new one",
        ),
      );
    return check.credentialId;
  }
}
