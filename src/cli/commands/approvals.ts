import { type Command, InvalidArgumentError, Option } from "commander";
import {
  APPROVAL_STATUSES,
  type ApprovalAnswer,
  type ApprovalDecisionBody,
  type ApprovalRequestBody,
} from "../../api/approvals.js";
import { durationSeconds } from "../../core/durations.js";
import type { BreakglassClient } from "../client.js";
import { contextOf } from "../command-context.js";
import { CliError, emit, table, usageError } from "../output.js";

export const approvalPath = (id: string) => `/v1/approvals/${encodeURIComponent(id)}`;

/** A commander option parser for durations: 90, 90s, 15m, 1h, as seconds; a bad value is a usage error. */
export function duration(text: string): number {
  const seconds = durationSeconds(text) as number;
  if (Number.isNaN(seconds)) throw new InvalidArgumentError("must be a duration such as 90s, 15m or 1h");
  return seconds;
}

/** 900 as "15m", 90 as "90s". */
export function formatSeconds(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const approvedCount = (approval: ApprovalAnswer) =>
  approval.votes.filter((vote) => vote.decision === "approved").length;

/** 'approved by bob: "go ahead"' for each decision so far, joined by "; "; null before any. */
export function verdictLine(approval: ApprovalAnswer): string | null {
  const said = approval.votes.map(
    (vote) =>
      `${vote.decision} by ${vote.approver.replace(/^user:/, "")}${vote.comment ? `: ${JSON.stringify(vote.comment)}` : ""}`,
  );
  return said.length > 0 ? said.join("; ") : null;
}

/** POST /v1/approvals: a new pending request to read `key`. */
export async function requestApproval(
  client: BreakglassClient,
  key: string,
  reason: string,
): Promise<ApprovalAnswer> {
  return client.data<ApprovalAnswer>("POST", "/v1/approvals", {
    body: { key, reason } satisfies ApprovalRequestBody,
  });
}

/** "waiting for 1 approval(s) from group:security" */
export function waitingLine(approval: ApprovalAnswer): string {
  const missing = Math.max(0, approval.approvals_required - approvedCount(approval));
  const from = approval.approvers?.length
    ? approval.approvers.join(", ")
    : `the approvers of ${approval.key}`;
  return `waiting for ${missing} approval(s) from ${from}`;
}

/** The refusal for a denied request: who denied it. */
export function deniedError(approval: ApprovalAnswer): CliError {
  return new CliError(`approval ${approval.id} for ${approval.key}: ${verdictLine(approval) ?? "denied"}`);
}

export function registerApprovals(program: Command): void {
  const approvals = program
    .command("approvals")
    .description("the two-person rule: ask to read a credential, and approve or deny others' requests");

  approvals
    .command("request")
    .description("ask to read a credential whose access rule needs approval; its approvers are told")
    .argument("<name>", "the credential")
    .requiredOption("--reason <text>", "why you need it (recorded and shown to the approvers)")
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const approval = await requestApproval(ctx.client, name, options.reason);
      emit(ctx, approval, (data) => [
        `Approval ${data.id} requested to read ${data.key}.`,
        `${capitalised(waitingLine(data))}; then: breakglass totp code ${data.key} --reason … --approval ${data.id}`,
      ]);
    });

  approvals
    .command("list")
    .description("requests you may decide (pending by default), or with --mine your own")
    .option("--mine", "your own requests, whatever their status unless --status is given")
    .addOption(new Option("--status <status>", "only these").choices([...APPROVAL_STATUSES]))
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const data = await ctx.client.data<{ approvals: ApprovalAnswer[] }>("GET", "/v1/approvals", {
        query: { mine: options.mine ? true : undefined, status: options.status },
      });
      emit(ctx, data, ({ approvals: list }) =>
        list.length > 0 ? list.map(summaryLine) : "No approval requests.",
      );
    });

  approvals
    .command("show")
    .description("one request: who asked, why, and the votes so far")
    .argument("<id>")
    .action(async (id: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const approval = await ctx.client.data<ApprovalAnswer>("GET", approvalPath(id));
      emit(ctx, approval, describeApproval);
    });

  for (const decision of ["approve", "deny"] as const) {
    approvals
      .command(decision)
      .description(
        decision === "approve"
          ? "approve a request (never your own; one vote each)"
          : "deny a request: it can no longer be used",
      )
      .argument("<id>")
      .option("--comment <text>", "recorded with your vote")
      .action(async (id: string, options, command: Command) => {
        if (options.comment !== undefined && options.comment.trim().length === 0)
          throw usageError("--comment must not be empty");
        const ctx = contextOf(command);
        const approval = await ctx.client.data<ApprovalAnswer>("POST", `${approvalPath(id)}/${decision}`, {
          body: (options.comment === undefined
            ? {}
            : { comment: options.comment }) satisfies ApprovalDecisionBody,
        });
        emit(ctx, approval, (data) => {
          if (data.status === "denied")
            return `Denied ${data.id}: ${data.requester} may not read ${data.key}.`;
          if (data.status === "approved")
            return `Approved ${data.id}: ${data.requester} may read ${data.key}${data.expires_at ? ` until ${data.expires_at}` : ""}.`;
          return `Approved ${data.id} (${approvedCount(data)} of ${data.approvals_required}); it needs more approvals.`;
        });
      });
  }
}

/** 'ID  KEY  user:alice  approved 1/1  "reason"  approved by bob: "ok"' ("expired" alone once past). */
function summaryLine(approval: ApprovalAnswer): string {
  const status =
    approval.status === "expired"
      ? "expired"
      : `${approval.status} ${approvedCount(approval)}/${approval.approvals_required}`;
  const verdict = verdictLine(approval);
  return [approval.id, approval.key, approval.requester, status, JSON.stringify(approval.reason)]
    .concat(verdict ? [verdict] : [])
    .join("  ");
}

function describeApproval(approval: ApprovalAnswer): string[] {
  const rows: [string, string][] = [
    ["ID", approval.id],
    ["Key", approval.key],
    ["Requester", approval.requester],
    ["Reason", approval.reason],
    ["Status", approval.status],
    ["Approvals", `${approvedCount(approval)} of ${approval.approvals_required}`],
    ["Requested", approval.created_at],
  ];
  if (approval.expires_at) rows.push(["Valid until", approval.expires_at]);
  const verdict = verdictLine(approval);
  if (verdict) rows.push(["Decision", verdict]);
  for (const vote of approval.votes) rows.push(["Vote", `${vote.approver} ${vote.decision} at ${vote.time}`]);
  return table(rows);
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
