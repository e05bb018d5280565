import type { Command } from "commander";
import { type CommandContext, contextOf } from "../command-context.js";
import { emit, table } from "../output.js";

interface KeyStatus {
  term: number;
  install_time: string;
  encryptions: number;
  rows_by_version: Record<string, number>;
  reencryption_running: boolean;
}

/** `operator rotate` and `operator key-status`, as Vault's commands of the same names. */
export function registerOperatorKeys(operator: Command): void {
  operator
    .command("rotate")
    .description(
      "add a data key version: new secrets are sealed under it, older ones re-encrypted in the background (admin)",
    )
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("PUT", "/v1/sys/rotate");
      const status = await keyStatus(ctx);
      emit(ctx, status, (data) => table([...termRows(data), ["Re-encryption", reencryption(data)]]));
    });

  operator
    .command("key-status")
    .description("show the current data key term and how many secrets each key version seals")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const status = await keyStatus(ctx);
      emit(ctx, status, (data) =>
        table([
          ...termRows(data),
          ...Object.entries(data.rows_by_version).map(([version, rows]): [string, number] => [
            `Secrets under v${version}`,
            rows,
          ]),
          ["Re-encryption", reencryption(data)],
        ]),
      );
    });
}

function keyStatus(ctx: CommandContext): Promise<KeyStatus> {
  return ctx.client.data<KeyStatus>("GET", "/v1/sys/key-status");
}

function termRows(status: KeyStatus): [string, string | number][] {
  return [
    ["Key Term", status.term],
    ["Install Time", status.install_time],
  ];
}

function reencryption(status: KeyStatus): string {
  return status.reencryption_running ? "running" : "not running";
}
