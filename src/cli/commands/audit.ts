import type { Command } from "commander";
import { type AuditEntry, verifyChain } from "../../core/audit-chain.js";
import { contextOf, wholeNumber } from "../command-context.js";
import { readInputFile } from "../local-files.js";
import { CliError, emit } from "../output.js";

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("read, export and verify the audit hash chain");

  audit
    .command("list")
    .description("audit entries, oldest first (reading them is itself recorded)")
    .option("--since <time>", "ISO-8601 time, inclusive")
    .option("--until <time>", "ISO-8601 time, exclusive")
    .option("--actor <actor>", "e.g. token:ACCESSOR")
    .option("--action <action>", "e.g. totp.code.read")
    .option("--target <target>", "e.g. totp/keys/aws-prod-root")
    .option("--limit <n>", "at most this many entries (default 1000)", wholeNumber)
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const { since, until, actor, action, target, limit } = options;
      const { entries } = await ctx.client.data<{ entries: AuditEntry[] }>("GET", "/v1/audit", {
        query: { since, until, actor, action, target, limit },
      });
      emit(ctx, { entries }, (data) => data.entries.map(describeEntry));
    });

  audit
    .command("export")
    .description("the whole chain as JSON lines on stdout, for `audit verify --file` or your own tools")
    .action(async (_options, command: Command) => {
      const reply = await contextOf(command).client.call("GET", "/v1/audit/export");
      process.stdout.write(reply.text);
    });

  audit
    .command("verify")
    .description("check every link of the chain: exits 1 and names the first entry that does not hold")
    .option("--file <export.jsonl>", "verify an export offline instead of asking the server")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const text = options.file
        ? readInputFile(options.file, "audit export").toString("utf8")
        : (await ctx.client.call("GET", "/v1/audit/export")).text;
      const { count, head, firstProblem } = verifyChain(parseExport(text));
      if (firstProblem) {
        if (ctx.json)
          emit(ctx, { verified: false, seq: firstProblem.seq, problem: firstProblem.problem }, () => "");
        throw new CliError(`audit chain BROKEN at entry ${firstProblem.seq}: ${firstProblem.problem}`);
      }
      emit(
        ctx,
        { verified: true, entries: count, head_seq: head?.seq ?? 0, head_hash: head?.hash ?? null },
        (data) =>
          `audit chain verified: ${data.entries} entries, head seq ${data.head_seq} hash ${data.head_hash ?? "-"}`,
      );
    });
}

function describeEntry(entry: AuditEntry): string {
  const fields = [
    entry.seq,
    entry.time,
    entry.actor,
    entry.action,
    entry.target,
    entry.outcome,
    entry.reason,
  ];
  return fields.map((field) => (field === null || field === "" ? "-" : String(field))).join("  ");
}

/** One entry per line; a line that is not an audit entry is named, not skipped. */
function parseExport(text: string): AuditEntry[] {
  const entries: AuditEntry[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim().length === 0) return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new CliError(`audit export line ${index + 1} is not valid JSON`);
    }
    if (!isEntryShaped(entry)) throw new CliError(`audit export line ${index + 1} is not an audit entry`);
    entries.push(entry);
  });
  return entries;
}

function isEntryShaped(value: unknown): value is AuditEntry {
  const entry = value as Partial<AuditEntry> | null;
  return (
    typeof entry === "object" &&
    entry !== null &&
    Number.isInteger(entry.seq) &&
    typeof entry.hash === "string" &&
    typeof entry.prev_hash === "string"
  );
}
