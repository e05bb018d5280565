import type { Command } from "commander";
import type { AccessRuleAnswer, AccessRuleBody } from "../../api/totp.js";
import { commaList, contextOf, wholeNumber } from "../command-context.js";
import { emit, table } from "../output.js";
import { duration, formatSeconds } from "./approvals.js";

const accessPath = (name: string) => `/v1/totp/access/${encodeURIComponent(name)}`;

export function registerAccess(program: Command): void {
  const access = program
    .command("access")
    .description("who may read each credential's code, who approves, and on what terms (admins)");

  access
    .command("set")
    .description("set a credential's access rule: the whole rule, replacing any before")
    .argument("<name>", "the credential")
    .requiredOption(
      "--readers <list>",
      'comma-separated group:NAME or user:NAME who may read its code; "" for admins only',
      commaList,
    )
    .option("--approvers <list>", "comma-separated group:NAME or user:NAME who approve reads", commaList)
    .option("--approvals <n>", "approvals each read needs (0 for none)", wholeNumber)
    .option("--require-reason", "every read must say why")
    .option("--step-up", "every read needs a fresh passkey touch of the reader (docs/passkeys.md)")
    .option("--approver-step-up", "every approval needs a fresh passkey touch of the approver")
    .option("--approval-ttl <duration>", "how long an approval lasts: 90s, 15m, 1h (default 15m)", duration)
    .option("--notify <list>", "comma-separated channels told of each read: email, webhook:NAME", commaList)
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const body = {
        readers: options.readers as string[],
        approvers: options.approvers as string[] | undefined,
        approvals_required: options.approvals as number | undefined,
        require_reason: options.requireReason ? true : undefined,
        step_up: options.stepUp ? true : undefined,
        approver_step_up: options.approverStepUp ? true : undefined,
        approval_ttl: options.approvalTtl as number | undefined,
        notify: options.notify as string[] | undefined,
      } satisfies AccessRuleBody;
      const rule = await ctx.client.data<AccessRuleAnswer>("PUT", accessPath(name), { body });
      emit(ctx, rule, (data) => [`Access rule for ${data.key} set.`, ...describeRule(data)]);
    });

  access
    .command("show")
    .description("a credential's access rule")
    .argument("<name>", "the credential")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const rule = await ctx.client.data<AccessRuleAnswer>("GET", accessPath(name));
      emit(ctx, rule, describeRule);
    });
}

function describeRule(rule: AccessRuleAnswer): string[] {
  return table([
    ["Key", rule.key],
    ["Readers", rule.readers.join(", ") || "- (admins only)"],
    ["Approvers", rule.approvers.join(", ") || "-"],
    ["Approvals", rule.approvals_required],
    ["Reason required", rule.require_reason ? "yes" : "no"],
    ["Passkey at each read", rule.step_up ? "yes" : "no"],
    ["Passkey to approve", rule.approver_step_up ? "yes" : "no"],
    ["Approval lasts", formatSeconds(rule.approval_ttl)],
    ["Notify", rule.notify.join(", ") || "-"],
    ["Updated", rule.updated_at],
  ]);
}
