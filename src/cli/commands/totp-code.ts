import type { Command } from "commander";
import { totpCodePath } from "../api-paths.js";
import type { ApiReply } from "../client.js";
import { contextOf } from "../command-context.js";
import { emit } from "../output.js";

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
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const reply = await ctx.client.call("GET", totpCodePath(name), {
        query: { reason: options.reason, enroll: options.enroll ? true : undefined },
      });
      const released = (reply.body as { data: ReleasedCode }).data;
      emit(ctx, released, (data) => describeCode(data, reply));
    });
}

/** "123456  (valid for 17s, until 09:41:30)": the end is the server's, translated to this machine's clock. */
function describeCode(released: ReleasedCode, reply: ApiReply): string[] {
  const offset = serverClockOffset(reply);
  const endsHere = released.expires_at * 1000 - offset;
  const remaining = Math.max(0, Math.round((endsHere - Date.now()) / 1000));
  const until = new Date(endsHere).toTimeString().slice(0, 8);
  const lines = [`${released.code}  (valid for ${remaining}s, until ${until})`];
  if (released.next_code) lines.push(`next: ${released.next_code}`);
  return lines;
}

/** How far the server's clock is ahead of ours, in ms, estimated from the reply's Date header. */
function serverClockOffset(reply: ApiReply): number {
  if (reply.serverDate === null) return 0;
  // The header is truncated to the second: the server's clock was somewhere in [date, date + 1s).
  const offset = reply.serverDate + DATE_HEADER_RESOLUTION_MS / 2 - reply.receivedAt;
  return Math.abs(offset) <= DATE_HEADER_RESOLUTION_MS ? 0 : offset;
}
