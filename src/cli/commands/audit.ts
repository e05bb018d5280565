import { once } from "node:events";
import { type Command, InvalidArgumentError, Option } from "commander";
import { HOUSEKEEPING_ACTIONS } from "../../core/audit-actions.js";
import { type AuditEntry, type ChainReport, ChainVerifier } from "../../core/audit-chain.js";
import { parsePublicKey } from "../../core/audit-checkpoint.js";
import { contextOf, wholeNumber } from "../command-context.js";
import { readInputFile, streamInputFile } from "../local-files.js";
import { CliError, columns, emit } from "../output.js";

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("read, export and verify the audit hash chain");

  audit
    .command("list")
    .description(
      "audit entries, newest first, of the last 7 days, without housekeeping (reading them is itself recorded)",
    )
    .option(
      "--since <time>",
      "ISO-8601 time, or how long ago: 30m, 24h, 7d (default 7d; with --all, none)",
      timeOrAgo,
    )
    .option("--until <time>", "ISO-8601 time, or how long ago, exclusive", timeOrAgo)
    .option(
      "--actor <actor>",
      "a person (alice, or user:alice: all they did, through any token), token:ACCESSOR",
    )
    .option("--action <action>", "an action (exactly), or a family of them: totp finds totp.code.read")
    .option("--target <target>", "e.g. totp/keys/aws-prod-root; a name alone also finds .../aws-prod-root")
    .addOption(new Option("--outcome <outcome>", "what came of it").choices(["allowed", "denied", "failed"]))
    .option("--text <text>", "entries whose reason contains this text")
    .option("--oldest-first", "oldest first, the chain's order")
    .option("--all", `housekeeping too (${HOUSEKEEPING_ACTIONS.join(", ")}), and from the first entry`)
    .option("--after <seq>", "entries after this sequence number (the next page, oldest first)", wholeNumber)
    .option(
      "--before <seq>",
      "entries before this sequence number (the next page, newest first)",
      wholeNumber,
    )
    .option("--limit <n>", `at most this many entries (default ${DEFAULT_LIMIT})`, wholeNumber)
    .action(async (options: ListOptions, command: Command) => {
      const ctx = contextOf(command);
      const { until, actor, action, target, outcome, text, after, before, all } = options;
      const since = options.since ?? (all ? undefined : timeOrAgo(DEFAULT_SINCE));
      const page = await ctx.client.data<AuditPage>("GET", "/v1/audit", {
        query: {
          since,
          until,
          actor,
          action,
          target,
          outcome,
          q: text,
          after,
          before,
          order: options.oldestFirst ? "oldest" : "newest",
          housekeeping: all ? undefined : false,
          limit: options.limit ?? DEFAULT_LIMIT,
        },
      });
      if (page.entries.length === 0 && !ctx.json) {
        const from = since ? `since ${since}` : "from the first entry";
        process.stderr.write(`no entries (${from}; --since 30d or --all to widen)\n`);
        return;
      }
      const width = process.stdout.isTTY ? process.stdout.columns : undefined;
      emit(ctx, page, (data) => [
        ...columns([ENTRY_HEADING, ...data.entries.map(entryCells)], width),
        ...(data.next_before === null ? [] : [`(more: --before ${data.next_before})`]),
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

const DEFAULT_LIMIT = 50;
const DEFAULT_SINCE = "7d";

interface ListOptions {
  since?: string;
  until?: string;
  actor?: string;
  action?: string;
  target?: string;
  outcome?: string;
  text?: string;
  oldestFirst?: boolean;
  all?: boolean;
  after?: number;
  before?: number;
  limit?: number;
}

interface AuditPage {
  entries: AuditEntry[];
  next_after: number | null;
  next_before: number | null;
}

const AGO = /^(\d+)(m|h|d)$/;
const AGO_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A commander option parser: an ISO-8601 time, or how long ago (30m, 24h, 7d), as ISO-8601. */
function timeOrAgo(text: string): string {
  const ago = text.trim().match(AGO);
  // Date.parse takes "30" as a year: only a text that starts as a date is a time.
  const time = ago
    ? Date.now() - Number(ago[1]) * (AGO_MS[ago[2] as string] as number)
    : /^\d{4}-\d\d-\d\d/.test(text.trim())
      ? Date.parse(text)
      : Number.NaN;
  if (Number.isNaN(time))
    throw new InvalidArgumentError(
      "must be an ISO-8601 time (2026-12-07T09:00:00Z) or how long ago: 30m, 24h, 7d",
    );
  return new Date(time).toISOString();
}

const ENTRY_HEADING = ["TIME", "SEQ", "ACTOR", "ACTION", "TARGET", "OUTCOME", "REASON"];

const TIME_PARTS = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});

/** `2026-12-07 14:05:46 UTC`: sortable, to the second, in this machine's zone (TZ), named. */
function compactTime(iso: string): string {
  const parts = Object.fromEntries(TIME_PARTS.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** A person by their name (user:alice as alice); other actors as recorded. */
function actorName(actor: string): string {
  return actor.startsWith("user:") ? actor.slice("user:".length) : actor;
}

function entryCells(entry: AuditEntry): string[] {
  const cells = [
    compactTime(entry.time),
    String(entry.seq),
    actorName(entry.actor),
    entry.action,
    entry.target,
    entry.outcome,
    entry.reason,
  ];
  // One line each: a reason's line breaks would break the columns.
  return cells.map((cell) => (cell === null || cell === "" ? "-" : cell.replace(/\s+/g, " ")));
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
