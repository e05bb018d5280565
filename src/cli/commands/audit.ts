import { once } from "node:events";
import { type Command, Option } from "commander";
import { type AuditEntry, type ChainReport, ChainVerifier } from "../../core/audit-chain.js";
import { parsePublicKey } from "../../core/audit-checkpoint.js";
import { contextOf, wholeNumber } from "../command-context.js";
import { readInputFile, streamInputFile } from "../local-files.js";
import { CliError, emit } from "../output.js";

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("read, export and verify the audit hash chain");

  audit
    .command("list")
    .description("audit entries, oldest first (reading them is itself recorded)")
    .option("--since <time>", "ISO-8601 time, inclusive")
    .option("--until <time>", "ISO-8601 time, exclusive")
    .option("--actor <actor>", "who answers: user:NAME (all they did, through any token), token:ACCESSOR")
    .option("--action <action>", "e.g. totp.code.read")
    .option("--target <target>", "e.g. totp/keys/aws-prod-root")
    .option("--outcome <outcome>", "allowed, denied or failed")
    .option("--text <text>", "entries whose reason contains this text")
    .option("--after <seq>", "entries after this sequence number (the next page)", wholeNumber)
    .option("--limit <n>", "at most this many entries (default 1000)", wholeNumber)
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const { since, until, actor, action, target, outcome, text, after, limit } = options;
      const page = await ctx.client.data<{ entries: AuditEntry[]; next_after: number | null }>(
        "GET",
        "/v1/audit",
        {
          query: { since, until, actor, action, target, outcome, q: text, after, limit },
        },
      );
      emit(ctx, page, (data) => [
        ...data.entries.map(describeEntry),
        ...(data.next_after === null ? [] : [`(more: --after ${data.next_after})`]),
      ]);
    });

  audit
    .command("export")
    .description("the whole chain as canonical JSON lines on stdout, ending with a fresh signed checkpoint")
    .action(async (_options, command: Command) => {
      for await (const chunk of contextOf(command).client.stream("/v1/audit/export"))
        if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
    });

  audit
    .command("public-key")
    .description("the Ed25519 key that verifies the chain's checkpoints (no token needed)")
    .addOption(new Option("--format <format>", "pem or openssh").choices(["pem", "openssh"]).default("pem"))
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const key = await ctx.client.data<PublicKeyData>("GET", "/v1/audit/public-key");
      emit(ctx, key, (data) =>
        options.format === "openssh" ? data.public_key_openssh : data.public_key_pem.trimEnd(),
      );
    });

  audit
    .command("verify")
    .description(
      "check every hash and every checkpoint signature; exit 0 when intact and signed to the end, 1 when broken (naming the first bad entry), 3 when intact but an unsigned tail, unchecked signatures or entries whose time runs backwards remain",
    )
    .option("--file <export.jsonl>", "verify an export offline, with no server")
    .option(
      "--public-key <file>",
      "the verification key (PEM or ssh-ed25519); without it, online, the server's key",
    )
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const keyText = options.publicKey
        ? readInputFile(options.publicKey, "public key").toString("utf8")
        : options.file
          ? null
          : (await ctx.client.data<PublicKeyData>("GET", "/v1/audit/public-key")).public_key_pem;
      const verifier = new ChainVerifier(keyText === null ? undefined : readPublicKey(keyText));
      const chunks = options.file
        ? streamInputFile(options.file, "audit export")
        : ctx.client.stream("/v1/audit/export");
      for await (const entry of exportEntries(chunks)) if (!verifier.add(entry)) break;
      const report = verifier.report();
      const summary = {
        verified: report.firstProblem === null,
        entries: report.count,
        head_seq: report.head?.seq ?? 0,
        head_hash: report.head?.hash ?? null,
        signatures_checked: report.signaturesChecked,
        last_checkpoint: report.lastCheckpoint,
        unsigned_tail: report.unsignedTail,
        problem: report.firstProblem,
        time_backwards: report.timeBackwards,
      };
      emit(ctx, summary, () => describeReport(report));
      if (report.firstProblem)
        throw new CliError(
          `audit chain BROKEN at entry ${report.firstProblem.seq}: ${report.firstProblem.problem}`,
        );
      // Intact, but not all an auditor needs: every such reason is said, with exit 3.
      const short = [
        ...(report.signaturesChecked ? [] : ["signatures not checked: give --public-key FILE"]),
        ...(report.unsignedTail
          ? [
              `unsigned tail: entries ${report.unsignedTail.from} to ${report.unsignedTail.to} are not covered by a signed checkpoint`,
            ]
          : []),
        ...(report.timeBackwards.count > 0
          ? [
              `time runs backwards at ${report.timeBackwards.count} ${report.timeBackwards.count === 1 ? "entry" : "entries"}: the clock that wrote them was set back`,
            ]
          : []),
      ];
      if (short.length > 0) throw new CliError(short.join("; "), 3);
    });
}

interface PublicKeyData {
  algorithm: string;
  key_id: string;
  public_key_pem: string;
  public_key_openssh: string;
}

function readPublicKey(text: string) {
  try {
    return parsePublicKey(text);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

function describeReport(report: ChainReport): string[] {
  const lines = [
    `audit chain: ${report.count} entries, head seq ${report.head?.seq ?? 0} hash ${report.head?.hash ?? "-"}`,
  ];
  const checkpoint = report.lastCheckpoint;
  lines.push(
    checkpoint
      ? `last signed checkpoint: entry ${checkpoint.seq} (signs entries up to ${checkpoint.signedSeq}, at ${checkpoint.time})`
      : "no signed checkpoint",
  );
  for (const { seq, time, previous_time } of report.timeBackwards.first)
    lines.push(
      `time runs backwards: entry ${seq} is dated ${time}, before entry ${seq - 1} (${previous_time})`,
    );
  if (report.timeBackwards.count > report.timeBackwards.first.length)
    lines.push(
      `… and ${report.timeBackwards.count - report.timeBackwards.first.length} more entries whose time runs backwards`,
    );
  if (
    report.firstProblem === null &&
    report.signaturesChecked &&
    report.unsignedTail === null &&
    report.timeBackwards.count === 0
  )
    lines.push("verified: every entry intact and signed");
  return lines;
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

/** One entry per line, as the chunks arrive; a line that is not an audit entry is named, not skipped. */
async function* exportEntries(chunks: AsyncIterable<string>): AsyncGenerator<AuditEntry> {
  let pending = "";
  let lineNumber = 0;
  const parse = (line: string): AuditEntry | null => {
    lineNumber += 1;
    if (line.trim().length === 0) return null;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new CliError(`audit export line ${lineNumber} is not valid JSON`);
    }
    if (!isEntryShaped(entry)) throw new CliError(`audit export line ${lineNumber} is not an audit entry`);
    return entry;
  };
  for await (const chunk of chunks) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const entry = parse(line);
      if (entry) yield entry;
    }
  }
  const last = parse(pending);
  if (last) yield last;
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
