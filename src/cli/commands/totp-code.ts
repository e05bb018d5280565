import type { Command } from "commander";
import type { ApprovalAnswer } from "../../api/approvals.js";
import { totpCodePath } from "../api-paths.js";
import { ApiError, type ApiReply, type BreakglassClient } from "../client.js";
import { type CommandContext, contextOf } from "../command-context.js";
import { CliError, emit, usageError } from "../output.js";
import {
  approvalPath,
  deniedError,
  duration,
  formatSeconds,
  requestApproval,
  verdictLine,
  waitingLine,
} from "./approvals.js";

interface ReleasedCode {
  code: string;
  period: number;
  digits: number;
  algorithm: string;
  step: number;
  valid_from: number;
  expires_at: number;
  ttl: number;
  next_code?: string;
}

/** The Date header has one-second resolution: smaller differences are rounding, not skew. */
const DATE_HEADER_RESOLUTION_MS = 1000;

export function registerTotpCode(totp: Command): void {
  totp
    .command("code")
    .description("read the current code (recorded in the audit chain before it is released)")
    .argument("<name>")
    .option("--reason <text>", "why you need it (recorded; some keys require it)")
    .option("--enroll", "also the next code, for services that ask for two consecutive codes")
    .option("--approval <id>", "an approved request to read it (breakglass approvals request)")
    .option("--wait", "request an approval (with --reason), wait until it is decided, then read the code")
    .option("--timeout <duration>", "with --wait: how long to wait, e.g. 90s, 15m, 1h", duration)
    .option(
      "--fresh",
      `with under ${NEAR_END_SECONDS}s left, wait for the next step and read its code instead of showing both`,
    )
    .action(async (name: string, options, command: Command) => {
      if (options.wait && options.approval !== undefined)
        throw usageError("give --approval or --wait, not both");
      if (options.wait && !options.reason?.trim())
        throw usageError("--wait needs --reason: the approvers are told why");
      if (options.timeout !== undefined && !options.wait) throw usageError("--timeout goes with --wait");
      const ctx = contextOf(command);
      const approval = options.wait
        ? await waitForApproval(ctx, name, options.reason, options.timeout ?? DEFAULT_WAIT_SECONDS)
        : options.approval;
      const read = (enroll: boolean) =>
        readCode(ctx.client, name, { reason: options.reason, enroll: enroll || undefined, approval }).catch(
          (error: unknown) => {
            throw withApprovalHint(error, name);
          },
        );
      let reply = await read(Boolean(options.enroll));
      const left = secondsLeft(reply);
      if (left < NEAR_END_SECONDS && !options.enroll) {
        // Too little time to type it: wait for a fresh one, or read again through the audited
        // enrolment read, which gives the next code too.
        if (options.fresh) await new Promise((wait) => setTimeout(wait, (left + 0.5) * 1000));
        reply = await read(!options.fresh);
      }
      const released = (reply.body as { data: ReleasedCode }).data;
      emit(ctx, released, (data) => describeCode(data, serverClockOffset(reply), Date.now()));
    });
}

/** A code with less than this left is hard to type in time. */
export const NEAR_END_SECONDS = 5;

/** Seconds left of the step served, by the server's clock translated to ours. */
function secondsLeft(reply: ApiReply): number {
  const { expires_at } = (reply.body as { data: ReleasedCode }).data;
  return Math.max(0, (expires_at * 1000 - serverClockOffset(reply) - Date.now()) / 1000);
}

const DEFAULT_WAIT_SECONDS = 15 * 60;
const POLL_INTERVAL_MS = 2000;

function readCode(
  client: BreakglassClient,
  name: string,
  query: { reason?: string; enroll?: true; approval?: string },
): Promise<ApiReply> {
  return client.call("GET", totpCodePath(name), { query });
}

/** A refusal because the credential needs an approval: say how to get one, for this credential. */
function withApprovalHint(error: unknown, name: string): unknown {
  if (
    !(error instanceof ApiError) ||
    (error.code !== "APPROVAL_REQUIRED" && error.code !== "APPROVAL_EXPIRED")
  )
    return error;
  return error.withHint(
    `name an approval you hold with --approval ID, or ask for one: breakglass approvals request ${name} --reason "…" (or totp code ${name} --reason "…" --wait)`,
  );
}

/**
 * Requests an approval and polls it until it is approved (its id is returned), denied or the time
 * is up (both errors). A credential that needs no approval is read without one.
 */
async function waitForApproval(
  ctx: CommandContext,
  name: string,
  reason: string,
  timeoutSeconds: number,
): Promise<string | undefined> {
  let approval: ApprovalAnswer;
  try {
    approval = await requestApproval(ctx.client, name, reason);
  } catch (error) {
    if (error instanceof ApiError && error.code === "APPROVAL_NOT_NEEDED") return undefined;
    throw error;
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  const status = statusLine(approval);
  try {
    while (approval.status === "pending") {
      if (Date.now() >= deadline)
        throw new CliError(
          `approval ${approval.id} was not decided within ${formatSeconds(timeoutSeconds)}: it stays pending; read with --approval ${approval.id} once approved`,
        );
      status.update(approval);
      await new Promise((wait) => setTimeout(wait, Math.min(POLL_INTERVAL_MS, deadline - Date.now())));
      approval = await ctx.client.data<ApprovalAnswer>("GET", approvalPath(approval.id));
    }
  } finally {
    status.stop();
  }
  if (approval.status === "denied") throw deniedError(approval);
  process.stderr.write(`${verdictLine(approval) ?? approval.status}\n`);
  return approval.id;
}

/** On a terminal, a spinner redrawn in place; otherwise a single line. Both on stderr. */
function statusLine(first: ApprovalAnswer): { update(approval: ApprovalAnswer): void; stop(): void } {
  const stream = process.stderr;
  if (!stream.isTTY) {
    stream.write(`waiting for approval ${first.id}… (${waitingLine(first)})\n`);
    return { update: () => {}, stop: () => {} };
  }
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  const started = Date.now();
  let current = first;
  let frame = 0;
  const draw = () => {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    const clock = `${Math.floor(elapsed / 60)}:${String(elapsed % 60).padStart(2, "0")}`;
    stream.write(
      `\r\x1b[2K${frames[frame % frames.length]} approval ${current.id}: ${waitingLine(current)}  ${clock}`,
    );
    frame += 1;
  };
  draw();
  const timer = setInterval(draw, 100);
  return {
    update: (approval) => {
      current = approval;
    },
    stop: () => {
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}

/**
 * "123456  (valid for 17s, until 09:41:30 UTC)" and, when given, "next: 654321  (valid from
 * 09:41:30 until 09:42:00 UTC)": the times are the server's, translated to this machine's clock
 * (`offset`, ms the server is ahead) and shown in its time zone.
 */
export function describeCode(released: ReleasedCode, offset: number, now: number): string[] {
  const endsHere = released.expires_at * 1000 - offset;
  const remaining = Math.max(0, Math.round((endsHere - now) / 1000));
  const lines = [`${released.code}  (valid for ${remaining}s, until ${clockTime(endsHere)})`];
  if (released.next_code)
    lines.push(
      `next: ${released.next_code}  (valid from ${clockTime(endsHere)} until ${clockTime(endsHere + released.period * 1000)})`,
    );
  return lines;
}

const CLOCK = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});

/** "09:41:30 UTC", "11:41:30 CEST": a time without its zone is a guess on a shared incident call. */
const clockTime = (ms: number) => CLOCK.format(ms);

/** How far the server's clock is ahead of ours, in ms, estimated from the reply's Date header. */
function serverClockOffset(reply: ApiReply): number {
  if (reply.serverDate === null) return 0;
  // The header is truncated to the second: the server's clock was somewhere in [date, date + 1s).
  const offset = reply.serverDate + DATE_HEADER_RESOLUTION_MS / 2 - reply.receivedAt;
  return Math.abs(offset) <= DATE_HEADER_RESOLUTION_MS ? 0 : offset;
}
