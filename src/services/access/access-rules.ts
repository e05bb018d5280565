import { type AccessRule, checkAccessRule, DEFAULT_APPROVAL_TTL_SECONDS } from "../../core/access.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { notFound } from "../../core/errors.js";
import { checkKeyName } from "../../core/key-names.js";
import type { AccessRuleRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";

export type RuleInput = Partial<Omit<AccessRule, "readers">> & { readers: string[] };

/** Access rules per credential (admins): who reads, who approves, on what terms. */
export class AccessRuleService {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly onRuleChanged: (keyName: string) => void,
    private readonly clock: Clock,
  ) {}

  async put(keyName: string, input: RuleInput, ctx: RequestContext): Promise<AccessRuleRecord> {
    checkKeyName(keyName);
    if (!(await this.store.findTotpKey(keyName))) throw notFound(`no key named ${keyName}`);
    const rule = checkAccessRule({
      readers: input.readers,
      approvers: input.approvers ?? [],
      approvalsRequired: input.approvalsRequired ?? 0,
      requireReason: input.requireReason ?? false,
      approvalTtlSeconds: input.approvalTtlSeconds ?? DEFAULT_APPROVAL_TTL_SECONDS,
      notify: input.notify ?? [],
      stepUp: input.stepUp ?? false,
      approverStepUp: input.approverStepUp ?? false,
    });
    await this.audit.record(ctx, {
      action: "access.rule.write",
      target: `totp/access/${keyName}`,
      outcome: "allowed",
      details: {
        readers: rule.readers.join(","),
        approvers: rule.approvers.join(","),
        approvals_required: rule.approvalsRequired,
        require_reason: rule.requireReason,
        approval_ttl: rule.approvalTtlSeconds,
        step_up: rule.stepUp,
        approver_step_up: rule.approverStepUp,
      },
    });
    const record = { keyName, ...rule, updatedAt: isoTime(this.clock) };
    await this.store.approvals.putRule(record);
    this.onRuleChanged(keyName);
    return record;
  }

  async get(keyName: string): Promise<AccessRuleRecord> {
    const rule = await this.find(keyName);
    if (!rule) throw notFound(`${keyName} has no access rule: only admins may read it`);
    return rule;
  }

  /** The rule, or null when the credential has none (only admins read it then). */
  async find(keyName: string): Promise<AccessRuleRecord | null> {
    return this.store.approvals.findRule(keyName);
  }

  /** Removes the rule: from then on only admins (and machine reader tokens) read the credential. */
  async delete(keyName: string, ctx: RequestContext): Promise<void> {
    checkKeyName(keyName);
    if (!(await this.store.approvals.findRule(keyName))) throw notFound(`${keyName} has no access rule`);
    await this.audit.record(ctx, {
      action: "access.rule.delete",
      target: `totp/access/${keyName}`,
      outcome: "allowed",
    });
    await this.store.approvals.deleteRule(keyName);
    this.onRuleChanged(keyName);
  }
}
