// Over 400 lines: requests, votes and uses of approvals share the rule cache, the view and the counting of votes.
import { randomUUID } from "node:crypto";
import { type AccessRule, decideApproval, decideCodeRead, type Reader } from "../../core/access.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { BreakglassError, badInput, notFound, permissionDenied } from "../../core/errors.js";
import type { AccessRuleRecord, ApprovalRecord, ApprovalVote, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { StepUpProof, StepUpService } from "../auth/step-up.js";
import type { Identity } from "../auth/tokens.js";
import { type Actor, actorOf, type RequestContext } from "../context.js";
import { TtlCache } from "../node/ttl-cache.js";
import {
  type ApprovalRefusal,
  type ApprovalRelease,
  HOW_TO_GET_ONE,
  type RuleGrant,
  type RuleRefusal,
  type RuleUse,
  usableUntil,
} from "./rule-use.js";

const RULE_CACHE_MS = 1_000;
/** How long a request waits for its approvals before it expires (config `approval_request_ttl_seconds`). */
export const DEFAULT_APPROVAL_REQUEST_TTL_SECONDS = 3600;

/**
 * A request as shown to people: with who may approve it (the rule's approvers), `expired` once it
 * waited too long undecided or its use window passed, and `expiresAt` the end of that window under
 * the rule as it is now.
 */
export type ApprovalView = Omit<ApprovalRecord, "status"> & {
  status: ApprovalRecord["status"] | "expired";
  approvers: string[];
  /** An approver's yes needs a passkey step-up bound to this request (the rule's approver_step_up). */
  approverStepUp: boolean;
};

/**
 * The two-person rule: a read that needs approval waits for listed approvers, never the requester
 * — people are compared, so nobody approves a request made through a token of their own. An
 * approval is checked against the credential's rule as it is now, at every use.
 */
export class ApprovalService {
  private readonly rules: TtlCache<{ rule: AccessRuleRecord | null }>;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    /** A person's roles and principals now, or null when they are gone (PeopleService.identityOf). */
    private readonly identityOf: (username: string) => Promise<Identity | null>,
    private readonly stepUp: StepUpService,
    private readonly clock: Clock,
    private readonly requestTtlSeconds = DEFAULT_APPROVAL_REQUEST_TTL_SECONDS,
  ) {
    this.rules = new TtlCache(RULE_CACHE_MS, clock);
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
    const reader = actorOf(ctx);
    const rule = await this.store.approvals.findRule(keyName);
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
      throw new BreakglassError("APPROVAL_NOT_NEEDED", `${keyName} needs no approval: read it directly`);
    if (reason.trim().length === 0)
      throw new BreakglassError("REASON_REQUIRED", "reason is required: say why the code is needed");
    const approval: ApprovalRecord = {
      id: randomUUID(),
      keyName,
      requester: reader.owner,
      reason,
      status: "pending",
      approvalsRequired: rule.approvalsRequired,
      votes: [],
      createdAt: isoTime(this.clock),
      expiresAt: null,
    };
    await this.audit.record(ctx, {
      action: "approval.request",
      target: `totp/keys/${keyName}`,
      outcome: "allowed",
      reason,
      approvalIds: [approval.id],
      details: { waits_until: this.pendingUntil(approval) },
      notify: {
        type: "approval.requested",
        actor: reader.owner,
        key: keyName,
        reason,
        approvalId: approval.id,
        text: `${reader.owner} asks to read ${keyName}: "${reason}" (approval ${approval.id}, ${rule.approvalsRequired} needed)`,
        emailTo: await this.emailsOf(rule.approvers),
      },
    });
    await this.store.approvals.insertApproval(approval);
    return this.viewOf(approval, rule);
  }

  /**
   * Requests the caller may decide now (and has not voted on), or, with `mine`, the caller's own;
   * `status` filters by what each is now (`expired`: pending past its wait).
   */
  async list(
    ctx: RequestContext,
    options: { status: ApprovalView["status"] | null; mine: boolean },
  ): Promise<ApprovalView[]> {
    const reader = actorOf(ctx);
    const stored = options.status === "expired" ? null : options.status; // expired: pending or approved, stored
    const views: ApprovalView[] = [];
    for (const approval of await this.store.approvals.listApprovals(stored)) {
      const rule = await this.store.approvals.findRule(approval.keyName);
      const view = this.viewOf(approval, rule);
      if (options.status !== null && view.status !== options.status) continue;
      const wanted = options.mine
        ? approval.requester === reader.owner
        : decideApproval(reader, approval.requester, rule).allowed &&
          !approval.votes.some((vote) => vote.approver === reader.owner);
      if (wanted) views.push(view);
    }
    return views;
  }

  async get(id: string, ctx: RequestContext): Promise<ApprovalView> {
    const reader = actorOf(ctx);
    const approval = await this.store.approvals.findApproval(id);
    if (!approval) throw notFound(`no approval ${id}`);
    const rule = await this.store.approvals.findRule(approval.keyName);
    const involved =
      approval.requester === reader.owner || decideApproval(reader, approval.requester, rule).allowed;
    if (!involved && !reader.policies.some((p) => p === "admin" || p === "root")) throw permissionDenied();
    return this.viewOf(approval, rule);
  }

  /**
   * One approver's vote, counted against the rule as it is now (its approvers and how many it
   * needs). The vote is stored first (compare-and-set against concurrent votes) and then recorded;
   * should the record fail, the vote is taken back, so the chain never shows a vote that is not
   * stored nor stores one it does not show.
   */
  async decide(
    id: string,
    decision: "approved" | "denied",
    comment: string | null,
    ctx: RequestContext,
    stepUp: StepUpProof | null = null,
  ): Promise<ApprovalView> {
    const reader = actorOf(ctx);
    const approval = await this.store.approvals.findApproval(id);
    if (!approval) throw notFound(`no approval ${id}`);
    const rule = await this.store.approvals.findRule(approval.keyName);
    const allowed = decideApproval(reader, approval.requester, rule);
    const action = decision === "approved" ? "approval.approve" : "approval.deny";
    const refuse = async (why: string, error: BreakglassError) => {
      await this.audit.record(ctx, {
        action,
        target: `approvals/${id}`,
        outcome: "denied",
        reason: comment,
        approvalIds: [id],
        details: { problem: why },
      });
      return error;
    };
    if (!allowed.allowed)
      throw await refuse(allowed.why, permissionDenied(`permission denied: ${allowed.why}`));
    const current = rule as AccessRule; // decideApproval allows only under a rule that needs approvals
    const status = this.viewOf(approval, current).status;
    if (status === "expired" && approval.status === "pending")
      throw await refuse(
        "request expired",
        badInput(`approval ${id} waited too long and expired: the requester asks again`),
      );
    if (status !== "pending")
      throw await refuse("already decided", badInput(`approval ${id} is already ${status}`));
    if (approval.votes.some((v) => v.approver === reader.owner))
      throw await refuse(
        "voted twice",
        badInput("you have already decided on this request: one person counts once"),
      );
    // Proof of presence for this very request, taken only once every other check passed.
    const passkey =
      decision === "approved" && current.approverStepUp
        ? await this.stepUp.require(ctx, { action: "approval.approve", target: id }, stepUp, {
            action,
            target: `approvals/${id}`,
            reason: comment,
            approvalIds: [id],
          })
        : null;

    const now = new Date(this.clock.now());
    const votes = [...approval.votes, { approver: reader.owner, decision, comment, time: now.toISOString() }];
    const counted = (await this.countingVotes(votes, approval.requester, current)).length;
    const next: ApprovalRecord = {
      ...approval,
      votes,
      approvalsRequired: current.approvalsRequired,
      status:
        decision === "denied" ? "denied" : counted >= current.approvalsRequired ? "approved" : "pending",
      expiresAt: null,
    };
    if (next.status === "approved")
      next.expiresAt = new Date(now.getTime() + current.approvalTtlSeconds * 1000).toISOString();
    if (!(await this.store.approvals.updateApproval(approval, next))) {
      await this.audit.record(ctx, {
        action,
        target: `approvals/${id}`,
        outcome: "failed",
        reason: comment,
        approvalIds: [id],
        details: { problem: "someone else decided at the same moment: this vote was not counted" },
      });
      throw new BreakglassError(
        "CONFLICT",
        "someone else decided on this request at the same moment: look again",
      );
    }
    try {
      await this.audit.record(ctx, {
        action,
        target: `approvals/${id}`,
        outcome: "allowed",
        reason: comment,
        approvalIds: [id],
        details: {
          status: next.status,
          counted,
          required: current.approvalsRequired,
          ...(passkey ? { passkey } : {}),
        },
        ...(next.status === "pending"
          ? {}
          : {
              notify: {
                type: "approval.decided",
                actor: reader.owner,
                key: approval.keyName,
                approvalId: id,
                decision: next.status === "approved" ? "approved" : "denied",
                approvers: votes.map((v) => v.approver),
                text: `${reader.owner} ${next.status} ${approval.requester}'s request to read ${approval.keyName} (approval ${id})`,
              },
            }),
      });
    } catch (error) {
      await this.store.approvals.updateApproval(next, approval).catch(() => false);
      throw error;
    }
    return this.viewOf(next, current);
  }

  /**
   * Decides a use of `keyName` under its access rule exactly as a code read: readers, reason,
   * approvals (a device check-out governed by the credential's rule too). A helper of the one
   * decision (auth/authorizer.ts), which records refusals; a store that fails meanwhile is an
   * error (503), never a refusal.
   */
  async decideUse(
    reader: Actor,
    keyName: string,
    request: { reason: string | null; approvalId: string | null },
    use: RuleUse,
  ): Promise<RuleGrant | RuleRefusal> {
    const rule = await this.ruleOf(keyName);
    const decision = decideCodeRead(reader, rule);
    if (!decision.allowed)
      return {
        problem: decision.why,
        message: `permission denied: ${decision.why}`,
        code: "PERMISSION_DENIED",
      };
    if (decision.approvalsRequired === 0 || !rule) {
      if (decision.reasonRequired && !request.reason)
        return { problem: "no reason given", message: use.noReason, code: "REASON_REQUIRED" };
      return { reader, reason: request.reason, rule, approval: null };
    }
    const checked = request.approvalId
      ? await this.checkApproval(request.approvalId, request.reason, keyName, reader, rule, use)
      : await this.heldApproval(request.reason, keyName, reader, rule, use, decision.reasonRequired);
    if ("problem" in checked) return checked;
    return { reader, reason: checked.reason, rule, approval: checked.approval };
  }

  /**
   * A use without an approval id: the caller's one approval for `keyName` that releases it now is
   * used (its reason applies); several are named, a pending request is mentioned, else one is needed.
   */
  private async heldApproval(
    reason: string | null,
    keyName: string,
    reader: Reader,
    rule: AccessRule,
    use: RuleUse,
    reasonRequired: boolean,
  ): Promise<ApprovalRelease | RuleRefusal> {
    const own: ApprovalView[] = [];
    for (const approval of await this.store.approvals.listApprovals(null))
      if (approval.keyName === keyName && approval.requester === reader.owner)
        own.push(this.viewOf(approval, rule));
    const usable: ApprovalRelease[] = [];
    const unusable: RuleRefusal[] = [];
    for (const approval of own.filter((a) => a.status === "approved")) {
      const checked = await this.checkApproval(approval.id, reason, keyName, reader, rule, use);
      if ("problem" in checked) unusable.push(checked);
      else usable.push(checked);
    }
    const [only] = usable;
    if (only && usable.length === 1) return only;
    // Held but not usable now (given for another reason, short of votes under today's rule): say
    // why, newest first, rather than ask as if there were none; an approval is still what is needed.
    const [newest] = unusable;
    if (newest && usable.length === 0) return { ...newest, code: "APPROVAL_REQUIRED" };
    const needs = `needs ${rule.approvalsRequired} approval(s)`;
    if (usable.length > 1) {
      const ids = usable.map((u) => u.approval.id).join(", ");
      return {
        problem: `${needs}: several approvals held (${ids})`,
        message: `permission denied: you hold several approvals for ${keyName} (${ids}): name the one to use`,
        code: "APPROVAL_REQUIRED",
      };
    }
    const pending = own.find((a) => a.status === "pending");
    if (pending)
      return {
        problem: `${needs}: request ${pending.id} is pending`,
        message: `permission denied: ${use.what} ${needs}: your request ${pending.id} is still pending`,
        code: "APPROVAL_REQUIRED",
      };
    // Without an approval the rule asks for the reason first: the request for one carries it.
    if (reasonRequired && !reason)
      return { problem: "no reason given", message: use.noReason, code: "REASON_REQUIRED" };
    return {
      problem: needs,
      message: `permission denied: ${use.what} ${needs}: ${HOW_TO_GET_ONE}`,
      code: "APPROVAL_REQUIRED",
    };
  }

  /**
   * Whether an approval releases a use now: the caller's own, for this credential, approved, for
   * the same reason, and still enough votes of people who are approvers under the rule as it is
   * now, within the rule's approval_ttl as it is now.
   */
  private async checkApproval(
    id: string,
    reason: string | null,
    keyName: string,
    reader: Reader,
    rule: AccessRule,
    use: RuleUse,
  ): Promise<ApprovalRelease | RuleRefusal> {
    const refused = (
      problem: string,
      message = `permission denied: approval ${id} ${problem}`,
      code: ApprovalRefusal = "APPROVAL_NOT_USABLE",
    ) => ({ problem, message, code });
    const approval = await this.store.approvals.findApproval(id);
    if (!approval || approval.keyName !== keyName || approval.requester !== reader.owner)
      return refused(`is not yours for ${keyName}`);
    // A person deleted and made again under the same name does not inherit the old one's approvals.
    if (!(await this.madeBy(approval.requester, approval.createdAt)))
      return refused(`was requested by an earlier person named ${approval.requester}`);
    if (approval.status !== "approved") return refused(`is ${this.viewOf(approval, rule).status}`);
    if (reason !== null && reason.trim() !== approval.reason.trim())
      return refused(
        "was given for another reason",
        `permission denied: approval ${id} was given for "${approval.reason}": use it with that reason (or none), or request a new one`,
      );
    const counting = await this.countingVotes(approval.votes, approval.requester, rule);
    if (counting.length < rule.approvalsRequired)
      return refused(
        `no longer has enough approvals under the current rule (${counting.length} of ${rule.approvalsRequired})`,
        `permission denied: approval ${id} no longer has enough approvals under the current rule (${counting.length} of ${rule.approvalsRequired}) for ${use.what}: ${HOW_TO_GET_ONE}`,
        "APPROVAL_REQUIRED",
      );
    if (Date.parse(usableUntil(approval, rule)) <= this.clock.now())
      return refused(
        "has expired",
        `permission denied: approval ${id} has expired: ${HOW_TO_GET_ONE}`,
        "APPROVAL_EXPIRED",
      );
    return { reason: approval.reason, approval: { id, approvers: counting.map((vote) => vote.approver) } };
  }

  /** The approving votes that count under `rule` now: of people who are its approvers today, never the requester. */
  private async countingVotes(
    votes: ApprovalVote[],
    requester: string,
    rule: AccessRule,
  ): Promise<ApprovalVote[]> {
    const counting: ApprovalVote[] = [];
    for (const vote of votes) {
      if (vote.decision !== "approved" || !vote.approver.startsWith("user:")) continue;
      const person = await this.identityOf(vote.approver.slice("user:".length));
      const voter: Reader = { owner: vote.approver, principals: person?.principals ?? [], policies: [] };
      // A vote cast before the voter's account was made was an earlier person's of the same name.
      if (person && vote.time >= person.since && decideApproval(voter, requester, rule).allowed)
        counting.push(vote);
    }
    return counting;
  }

  /** Whether `owner` (user:NAME) is the same person now as when they did something at `time`. */
  private async madeBy(owner: string, time: string): Promise<boolean> {
    if (!owner.startsWith("user:")) return true; // a root token's line: its accessor names it for good
    const person = await this.identityOf(owner.slice("user:".length));
    return person !== null && time >= person.since;
  }

  private viewOf(approval: ApprovalRecord, rule: AccessRule | null): ApprovalView {
    const expiresAt =
      approval.status === "approved" && rule ? usableUntil(approval, rule) : approval.expiresAt;
    const until = approval.status === "pending" ? this.pendingUntil(approval) : expiresAt;
    const expired = approval.status !== "denied" && until !== null && Date.parse(until) <= this.clock.now();
    return {
      ...approval,
      status: expired ? "expired" : approval.status,
      expiresAt,
      approvers: rule?.approvers ?? [],
      approverStepUp: rule?.approverStepUp ?? false,
    };
  }

  private pendingUntil(approval: ApprovalRecord): string {
    return new Date(Date.parse(approval.createdAt) + this.requestTtlSeconds * 1000).toISOString();
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
