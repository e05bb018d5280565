import type { Command } from "commander";
import { contextOf } from "../command-context.js";
import { emit, table } from "../output.js";

export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  storage_type?: string;
  version?: string;
  custody_warning?: string | null;
  restore_pending?: { backup_created_at: string; message: string };
  problems?: NodeConditionView[];
  warnings?: NodeConditionView[];
}

/** A node condition as seal-status lists it (server: services/node-condition.ts). */
interface NodeConditionView {
  cause: string;
  message: string;
  since: string;
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show whether the server is initialised and sealed (needs no token)")
    .addHelpText(
      "after",
      "\nExits 0 whenever the server answers, sealed or not: read Sealed (or .sealed with --json).",
    )
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const status = await ctx.client.data<SealStatus>("GET", "/v1/sys/seal-status");
      emit(ctx, status, describeSealStatus);
    });
}

export function describeSealStatus(status: SealStatus): string[] {
  // A server not yet initialised has no shares: "0 of 0" would read as a setting.
  const shares: [string, string][] = status.initialized
    ? [
        ["Threshold", `${status.t} of ${status.n}`],
        ["Progress", `${status.progress}/${status.t}`],
      ]
    : [["Threshold", "not initialised: run breakglass operator init"]];
  const lines = table([
    ["Initialized", status.initialized],
    ["Sealed", status.sealed],
    ...shares,
    ["Storage", status.storage_type ?? "unknown"],
    ["Version", status.version ?? "unknown"],
  ]);
  if (status.restore_pending)
    lines.push("", `${status.restore_pending.message} (made ${status.restore_pending.backup_created_at})`);
  if (status.custody_warning) lines.push("", `WARNING (bus factor): ${status.custody_warning}`);
  for (const [label, conditions] of [
    ["PROBLEM", status.problems],
    ["WARNING", status.warnings],
  ] as const)
    for (const { cause, message, since } of conditions ?? [])
      lines.push("", `${label} (${cause}, since ${since}): ${message}`);
  return lines;
}
