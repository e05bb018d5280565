import type { Command } from "commander";
import type { DrillBody } from "../../api/custody.js";
import { contextOf } from "../command-context.js";
import { emit, table } from "../output.js";
import { readSecret } from "../secret-input.js";

interface BusFactor {
  verified_recently: number;
  needed: number;
  window_days: number;
  warning: string | null;
}

interface CustodianList {
  threshold: number;
  shares: number;
  bus_factor: BusFactor;
  custodians: {
    share_index: number;
    name: string;
    pgp_fingerprint: string | null;
    last_verified: string | null;
    verified_recently: boolean;
  }[];
}

interface DrillResult {
  custodian: string;
  share_index: number;
  last_verified: string;
  bus_factor: BusFactor;
}

export function registerCustodians(program: Command): void {
  const custodians = program
    .command("custodians")
    .description("who holds the unseal shares, drills that prove they still do, and the bus factor");

  custodians
    .command("list")
    .description("each share's custodian and when they last proved it (admin, operator or auditor)")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const list = await ctx.client.data<CustodianList>("GET", "/v1/sys/custodians");
      emit(ctx, list, (data) => [
        `Shares: ${data.threshold} of ${data.shares} unseal. Proved within ${data.bus_factor.window_days} days: ${data.bus_factor.verified_recently} (want ${data.bus_factor.needed}).`,
        "",
        ...table(
          data.custodians.map((c) => [
            `${c.share_index}. ${c.name}${c.pgp_fingerprint ? ` (${c.pgp_fingerprint})` : ""}`,
            c.last_verified
              ? `${c.last_verified}${c.verified_recently ? "" : " (too long ago)"}`
              : "never drilled",
          ]),
        ),
        ...busFactorWarning(data.bus_factor),
      ]);
    });

  custodians
    .command("drill")
    .description(
      "prove you hold your share: says whose it is; unseals, combines and changes nothing (no token needed)",
    )
    .argument(
      "[share]",
      "the share, hex or base64 (as `gpg -d` prints it), or - for stdin; prompted when omitted",
    )
    .action(async (share: string | undefined, _options, command: Command) => {
      const ctx = contextOf(command);
      const key = await readSecret(share, "unseal key share");
      const result = await ctx.client.data<DrillResult>("PUT", "/v1/sys/custodians/drill", {
        body: { key } satisfies DrillBody,
      });
      emit(ctx, result, (data) => [
        `This is share ${data.share_index} of this vault, held by ${data.custodian}. Recorded at ${data.last_verified}.`,
        ...busFactorWarning(data.bus_factor),
      ]);
    });
}

function busFactorWarning(busFactor: BusFactor): string[] {
  return busFactor.warning ? ["", `WARNING (bus factor): ${busFactor.warning}`] : [];
}
