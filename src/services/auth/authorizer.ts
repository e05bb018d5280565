import { decideCodeRead } from "../../core/access.js";
import { type AuditAction, permissionOf } from "../../core/audit-actions.js";
import { BreakglassError, type ErrorCode, permissionDenied } from "../../core/errors.js";
import { type Action, isAllowed, MFA_ENROLMENT_ONLY } from "../../core/policy.js";
import type { ApprovalService } from "../access/approvals.js";
import type { RuleGrant, RuleUse } from "../access/rule-use.js";
import type { AuditLog, AuditRecord } from "../audit/audit-log.js";
import type { RefusalFlood } from "../audit/refusal-flood.js";
import type { Actor, RequestContext } from "../context.js";
import type { TokenService } from "./tokens.js";

/** A use of a credential under its access rule: a code read or validation, a device check-out. */
export interface CredentialUse {
  /** The credential whose rule decides; null for a device that names none (then `withoutRule`). */
  keyName: string | null;
  reason: string | null;
  approvalId: string | null;
  /** The rule's reason and approval terms, and how refusals name the use; absent: only its readers count (validation). */
  terms?: RuleUse;
  /** Who may when there is no rule to ask: a role, and the refusal's message. */
  withoutRule?: { permission: Action; message: string };
}

/** What is asked: the route's action (the permission comes from the catalogue) and, for a use, the credential. */
export interface Question {
  action: AuditAction;
  target: string | null;
  /** The route lets in a person who must still enable a second factor (their login holds only `mfa-enrolment`). */
  enrolling?: boolean;
  use?: CredentialUse;
  /** What a refusal's entry carries besides its problem: the reason, the approval, details. */
  entry?: Pick<AuditRecord, "reason" | "approvalIds" | "details">;
}

export type Refusal = { allowed: false; code: ErrorCode; problem: string; message: string };
/** Let in: who, and for a credential's use the grant of its rule (the reason to record, the approval that released it). */
export type Allowed = { allowed: true; actor: Actor; grant: RuleGrant | null };
export type Decision = Allowed | Refusal;
type UseDecision = { allowed: true; grant: RuleGrant } | Refusal;

const refused = (
  problem: string,
  message = "permission denied",
  code: ErrorCode = "PERMISSION_DENIED",
): Refusal => ({
  allowed: false,
  code,
  problem,
  message,
});

const errorOf = (refusal: Refusal) => new BreakglassError(refusal.code, refusal.message);

/**
 * The one authorisation story: a request is authenticated (`authenticate`: who is asking), then
 * decided once (`decide`: the half-logged-in person, tokens a person made, the role the route's
 * action needs, and for a credential's use its access rule and approval), and a refusal is
 * recorded under the route's action before the caller hears of it (`refuse`). Services take the
 * actor and the rule's grant from the decision; they do not check again.
 */
export class Authorizer {
  constructor(
    private readonly tokens: TokenService,
    private readonly approvals: ApprovalService,
    private readonly audit: AuditLog,
    /** Where refusals of callers without a valid token go: one by one, or counted as a flood. */
    private readonly refusals: RefusalFlood,
  ) {}

  /** Who presents this token; without a valid one the refusal is audited (or counted) and thrown. */
  async authenticate(
    presented: string | undefined,
    ctx: RequestContext,
    action: AuditAction,
  ): Promise<Actor> {
    const resolved = await this.tokens.resolve(presented);
    if ("actor" in resolved) return resolved.actor;
    await this.refusals.record(ctx, { action, outcome: "denied", details: { problem: resolved.problem } });
    throw permissionDenied();
  }

  /** The decision, without recording anything. */
  async decide(ctx: RequestContext, question: Question): Promise<Decision> {
    const actor = ctx.actor;
    if (!actor) return refused("no token"); // a route that needs a token reached here without one: a wiring bug
    if (!question.enrolling && actor.policies.includes(MFA_ENROLMENT_ONLY))
      return refused(
        "a second factor must be enabled first",
        "permission denied: enable your second factor first",
        "SECOND_FACTOR_REQUIRED",
      );
    const makerProblem = await this.tokens.makerProblem(actor);
    if (makerProblem !== null) return refused(makerProblem);
    const permission = permissionOf(question.action);
    if (permission !== null && !isAllowed(actor.policies, permission))
      return refused("not allowed by policy");
    if (!question.use) return { allowed: true, actor, grant: null };
    const use = await this.decideUse(actor, question.use);
    return use.allowed ? { allowed: true, actor, grant: use.grant } : use;
  }

  /** Decides; a refusal is recorded and thrown, an allowance handed back. */
  async enforce(ctx: RequestContext, question: Question): Promise<Allowed> {
    const decision = await this.decide(ctx, question);
    if (decision.allowed) return decision;
    throw await this.refuse(ctx, question, decision.problem, errorOf(decision));
  }

  /**
   * A use of a credential, decided where what it depends on is known (the body, the device), by
   * the same decision (the door's part of it holds again, unchanged). Hands back the rule's grant.
   */
  async enforceUse(ctx: RequestContext, question: Question & { use: CredentialUse }): Promise<RuleGrant> {
    const { grant } = await this.enforce(ctx, question);
    if (!grant) throw new Error("a credential's use was decided without its rule's grant"); // decideUse always grants
    return grant;
  }

  /**
   * The one place a refusal is recorded: under the question's action, naming the caller, before
   * the caller hears of it. Services refusing on what only the body tells (a check-out without a
   * reason, say) come through here too. Hands back the error to throw.
   */
  async refuse(
    ctx: RequestContext,
    question: Pick<Question, "action" | "target" | "entry">,
    problem: string,
    error: BreakglassError,
  ): Promise<BreakglassError> {
    await this.audit.record(ctx, {
      action: question.action,
      target: question.target,
      outcome: "denied",
      ...question.entry,
      details: { problem, ...question.entry?.details },
    });
    return error;
  }

  private async decideUse(actor: Actor, use: CredentialUse): Promise<UseDecision> {
    if (use.keyName === null) {
      const role = use.withoutRule;
      if (!role || !isAllowed(actor.policies, role.permission))
        return refused("not allowed by policy", role?.message);
      return { allowed: true, grant: { reader: actor, reason: use.reason, rule: null, approval: null } };
    }
    if (!use.terms) {
      const rule = await this.approvals.ruleOf(use.keyName);
      const read = decideCodeRead(actor, rule);
      return read.allowed
        ? { allowed: true, grant: { reader: actor, reason: use.reason, rule, approval: null } }
        : refused(read.why, `permission denied: ${read.why}`);
    }
    const grant = await this.approvals.decideUse(actor, use.keyName, use, use.terms);
    return "problem" in grant ? refused(grant.problem, grant.message, grant.code) : { allowed: true, grant };
  }
}
