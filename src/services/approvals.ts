import { randomUUID } from "node:crypto";
import { type AccessRule, decideApproval, decideCodeRead, type Reader } from "../core/access.js";
import { BreakglassError, badInput, notFound, permissionDenied } from "../core/errors.js";
import { MFA_ENROLMENT_ONLY } from "../core/policy.js";
import type { AccessRuleRecord, ApprovalRecord, Store } from "../store/store.js";
import type { AuditLog } from "./audit.js";
import type { Actor, RequestContext } from "./context.js";
import type { Notifier } from "./notify/events.js";
import type { TokenService } from "./tokens.js";
import { TtlCache } from "./ttl-cache.js";

const RULE_CACHE_MS = 1_000;

/** A request as shown to people: with who may approve it (the rule's approvers). */
export type ApprovalView = ApprovalRecord & { approvers: string[] };

/** How refusals name a use of a credential's rule, and what to do once approved. */
export interface RuleUse {
  /** "reading aws-prod-root" */
  what: string;
  /** What to do once approved: "read with ?approval=ID". */
  next: string;
  /** The refusal when the rule requires a reason and none was given. */
  noReason: string;
}

/** A use the rule allowed: who asked, the rule, and the approval that released it when one was needed. */
export interface RuleGrant {
  reader: Reader & { id: string };
  rule: AccessRule | null;
  approval: { id: string; approvers: string[] } | null;
}

/** The two-person rule: a read that needs approval waits for listed approvers, never the requester. */
export class ApprovalService {
  private readonly rules = new TtlCache<{ rule: AccessRuleRecord | null }>(RULE_CACHE_MS);

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private readonly notifier: Notifier,
  ) {}

  /** Who is asking, with the groups they are in now (group changes count at once). */
  async readerOf(actor: Actor): Promise<Reader & { id: string }> {
    // A person who still has to enable a second factor counts as in no group.
    const inGroups = actor.username !== null && !actor.policies.includes(MFA_ENROLMENT_ONLY);
    const groups = inGroups
      ? (await this.store.listGroups())
          .filter((g) => g.members.includes(actor.username as string))
          .map((g) => g.name)
      : [];
    return { id: actorId(actor), username: actor.username, groups, policies: actor.policies };
  }

  /** A credential's rule, cached for a second (as keys and tokens are): a change elsewhere counts within 2 s. */
  async ruleOf(keyName: string): Promise<AccessRule | null> {
    const cached = await this.rules.getOrLoad(keyName, async () => ({
      rule: await this.store.approvals.findRule(keyName),
    }));
    return cached?.rule ?? null;
  }

  /** This node changed a rule: forget it at once. */
  forgetRule(keyName: string): void {
    this.rules.delete(keyName);
  }

  async request(keyName: string, reason: string, ctx: RequestContext): Promise<ApprovalView> {
    const actor = await this.tokens.authorize(ctx, "approvals.use", `totp/keys/${keyName}`);
    const rule = await this.store.approvals.findRule(keyName);
    const reader = await this.readerOf(actor);
    const decision = decideCodeRead(reader, rule);
    if (!decision.allowed) {
      await this.audit.record(ctx, {
        action: "approval.request",
        target: `totp/keys/${keyName}`,
        outcome: "denied",
        reason,
        details: { problem: decision.why },
      });
      throw permissionDenied(`permission denied: ${decision.why}`);
    }
    if (decision.approvalsRequired === 0 || !rule)
      throw badInput(`${keyName} needs no approval: read it directly`);
    if (reason.trim().length === 0) throw badInput("reason is required: say why the code is needed");
    const approval: ApprovalRecord = {
      id: randomUUID(),
      keyName,
      requester: reader.id,
      reason,
      status: "pending",
      approvalsRequired: rule.approvalsRequired,
      votes: [],
      createdAt: new Date().toISOString(),
      expiresAt: null,
    };
    await this.audit.record(ctx, {
      action: "approval.request",
      target: `totp/keys/${keyName}`,
      outcome: "allowed",
      reason,
      approvalIds: [approval.id],
    });
    await this.store.approvals.insertApproval(approval);
    this.notifier.notify({
      type: "approval.requested",
      time: approval.createdAt,
      actor: reader.id,
      key: keyName,
      reason,
      approvalId: approval.id,
      text: `${reader.id} asks to read ${keyName}: "${reason}" (approval ${approval.id}, ${rule.approvalsRequired} needed)`,
      emailTo: await this.emailsOf(rule.approvers),
      requestId: ctx.requestId,
    });
    return { ...approval, approvers: rule.approvers };
  }

  /** Pending requests the caller may approve (and has not voted on), or, with `mine`, the caller's own. */
  async list(
    ctx: RequestContext,
    options: { status: string | null; mine: boolean },
  ): Promise<ApprovalView[]> {
    const actor = await this.tokens.authorize(ctx, "approvals.use", "approvals");
    const reader = await this.readerOf(actor);
    const all = await this.store.approvals.listApprovals(options.status);
    const withApprovers = async (approval: ApprovalRecord): Promise<ApprovalView> => ({
      ...approval,
      approvers: (await this.store.approvals.findRule(approval.keyName))?.approvers ?? [],
    });
    if (options.mine) return Promise.all(all.filter((a) => a.requester === reader.id).map(withApprovers));
    const visible: ApprovalView[] = [];
    for (const approval of all) {
      const rule = await this.store.approvals.findRule(approval.keyName);
      if (
        decideApproval(reader, approval.requester, rule).allowed &&
        !approval.votes.some((v) => v.approver === reader.id)
      )
        visible.push({ ...approval, approvers: rule?.approvers ?? [] });
    }
    return visible;
  }

  async get(id: string, ctx: RequestContext): Promise<ApprovalView> {
    const actor = await this.tokens.authorize(ctx, "approvals.use", `approvals/${id}`);
    const approval = await this.store.approvals.findApproval(id);
    if (!approval) throw notFound(`no approval ${id}`);
    const reader = await this.readerOf(actor);
    const rule = await this.store.approvals.findRule(approval.keyName);
    const involved =
      approval.requester === reader.id || decideApproval(reader, approval.requester, rule).allowed;
    if (!involved && !reader.policies.some((p) => p === "admin" || p === "root")) throw permissionDenied();
    return { ...approval, approvers: rule?.approvers ?? [] };
  }

  async decide(
    id: string,
    decision: "approved" | "denied",
    comment: string | null,
    ctx: RequestContext,
  ): Promise<ApprovalView> {
    const actor = await this.tokens.authorize(ctx, "approvals.use", `approvals/${id}`);
    const approval = await this.store.approvals.findApproval(id);
    if (!approval) throw notFound(`no approval ${id}`);
    const reader = await this.readerOf(actor);
    const rule = await this.store.approvals.findRule(approval.keyName);
    const allowed = decideApproval(reader, approval.requester, rule);
    const action = decision === "approved" ? "approval.approve" : "approval.deny";
    const refuse = async (why: string, error: BreakglassError) => {
      await this.audit.record(ctx, {
        action,
        target: `approvals/${id}`,
        outcome: "denied",
        approvalIds: [id],
        details: { problem: why },
      });
      return error;
    };
    if (!allowed.allowed)
      throw await refuse(allowed.why, permissionDenied(`permission denied: ${allowed.why}`));
    if (approval.status !== "pending")
      throw await refuse("already decided", badInput(`approval ${id} is already ${approval.status}`));
    if (approval.votes.some((v) => v.approver === reader.id))
      throw await refuse(
        "voted twice",
        badInput("you have already decided on this request: one person counts once"),
      );

    const now = new Date();
    const votes = [...approval.votes, { approver: reader.id, decision, comment, time: now.toISOString() }];
    const approvals = votes.filter((v) => v.decision === "approved").length;
    const next: ApprovalRecord = {
      ...approval,
      votes,
      status:
        decision === "denied" ? "denied" : approvals >= approval.approvalsRequired ? "approved" : "pending",
      expiresAt: null,
    };
    if (next.status === "approved")
      next.expiresAt = new Date(
        now.getTime() + (rule as AccessRuleRecord).approvalTtlSeconds * 1000,
      ).toISOString();
    await this.audit.record(ctx, {
      action,
      target: `approvals/${id}`,
      outcome: "allowed",
      reason: comment,
      approvalIds: [id],
      details: { status: next.status },
    });
    if (!(await this.store.approvals.updateApproval(approval, next)))
      throw new BreakglassError(
        "CONFLICT",
        "someone else decided on this request at the same moment: look again",
      );
    if (next.status !== "pending")
      this.notifier.notify({
        type: "approval.decided",
        time: now.toISOString(),
        actor: reader.id,
        key: approval.keyName,
        approvalId: id,
        decision: next.status === "approved" ? "approved" : "denied",
        approvers: votes.map((v) => v.approver),
        text: `${reader.id} ${next.status} ${approval.requester}'s request to read ${approval.keyName} (approval ${id})`,
        requestId: ctx.requestId,
      });
    return { ...next, approvers: rule?.approvers ?? [] };
  }

  /**
   * Decides a use of `keyName` under its access rule exactly as a code read: readers, reason,
   * approvals (a device check-out governed by the credential's rule too). Each refusal goes
   * through `refuse`, which audits it, before it is thrown.
   */
  async decideUse(
    actor: Actor,
    keyName: string,
    request: { reason: string | null; approvalId: string | null },
    use: RuleUse,
    refuse: (problem: string, error: Error) => Promise<Error>,
  ): Promise<RuleGrant> {
    const reader = await this.readerOf(actor);
    const rule = await this.ruleOf(keyName);
    const decision = decideCodeRead(reader, rule);
    if (!decision.allowed)
      throw await refuse(decision.why, permissionDenied(`permission denied: ${decision.why}`));
    if (decision.reasonRequired && !request.reason)
      throw await refuse("no reason given", badInput(use.noReason));
    if (decision.approvalsRequired === 0) return { reader, rule, approval: null };
    try {
      const approval = await this.approversOf(
        request.approvalId,
        keyName,
        reader,
        decision.approvalsRequired,
        use,
      );
      return { reader, rule, approval };
    } catch (error) {
      throw await refuse(error instanceof Error ? error.message : "approval refused", error as Error);
    }
  }

  /** The approvers behind a use with an approval id, or a refusal that says what is wrong. */
  private async approversOf(
    approvalId: string | null,
    keyName: string,
    reader: { id: string },
    required: number,
    use: RuleUse,
  ): Promise<{ id: string; approvers: string[] }> {
    const how = `request one with POST /v1/approvals {"key":"${keyName}","reason":"…"} (breakglass approvals request ${keyName}), then ${use.next}`;
    if (!approvalId)
      throw permissionDenied(`permission denied: ${use.what} needs ${required} approval(s): ${how}`);
    const approval = await this.store.approvals.findApproval(approvalId);
    if (!approval || approval.keyName !== keyName || approval.requester !== reader.id)
      throw permissionDenied(`permission denied: approval ${approvalId} is not yours for ${keyName}`);
    if (approval.status !== "approved")
      throw permissionDenied(`permission denied: approval ${approvalId} is ${approval.status}`);
    if (!approval.expiresAt || Date.parse(approval.expiresAt) <= Date.now())
      throw permissionDenied(`permission denied: approval ${approvalId} has expired: ${how}`);
    return {
      id: approval.id,
      approvers: approval.votes.filter((v) => v.decision === "approved").map((v) => v.approver),
    };
  }

  private async emailsOf(principals: string[]): Promise<string[]> {
    const usernames = new Set<string>();
    const groups = await this.store.listGroups();
    for (const principal of principals) {
      const [kind, name] = principal.split(":") as [string, string];
      if (kind === "user") usernames.add(name);
      else for (const member of groups.find((g) => g.name === name)?.members ?? []) usernames.add(member);
    }
    const emails: string[] = [];
    for (const username of usernames) {
      const email = (await this.store.findUser(username))?.email;
      if (email) emails.push(email);
    }
    return emails;
  }
}

export function actorId(actor: Actor): string {
  return actor.username ? `user:${actor.username}` : `token:${actor.accessor}`;
}
