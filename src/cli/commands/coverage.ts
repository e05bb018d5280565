import type { Command } from "commander";
import { contextOf } from "../command-context.js";
import { emit, table } from "../output.js";

interface CoverageReport {
  due_within_days: number;
  flagged: number;
  accounts: {
    account: string;
    credential: string | null;
    issuer: string | null;
    account_name: string | null;
    factors: {
      kind: string;
      label: string;
      serial: string | null;
      location: string;
      status: string;
      due: { what: string; date: string; days_left: number }[];
      usable: boolean;
    }[];
    flags: { flag: string; text: string }[];
  }[];
}

export function registerCoverage(program: Command): void {
  program
    .command("coverage")
    .description(
      "each protected account's factors (breakglass and physical devices), flagged where one loss, one place or one date could lock it out (admin, operator or auditor)",
    )
    .option("--due-within <window>", "how far ahead a battery or review counts as due: 60d, 8w", "30d")
    .action(async (options: { dueWithin: string }, command: Command) => {
      const ctx = contextOf(command);
      const report = await ctx.client.data<CoverageReport>("GET", "/v1/coverage", {
        query: { due_within: options.dueWithin },
      });
      emit(ctx, report, coverageLines);
    });
}

function coverageLines(report: CoverageReport): string[] {
  const lines = report.accounts.flatMap((account) => [
    account.credential && account.issuer
      ? `${account.account} (${account.issuer}: ${account.account_name})`
      : account.account,
    ...table(
      account.factors.map((factor): [string, string] => {
        const what = factor.serial === null ? factor.label : `${factor.label}, serial ${factor.serial}`;
        const due = factor.due.map((reason) =>
          reason.days_left < 0
            ? `${reason.what} ${-reason.days_left} days overdue`
            : `${reason.what} due ${reason.date}`,
        );
        return [
          `  ${factor.kind}`,
          `${what} — ${factor.location}, ${factor.status}${due.length > 0 ? ` (${due.join(", ")})` : ""}`,
        ];
      }),
    ),
    ...account.flags.map((flag) => `  ! ${flag.flag}: ${flag.text}`),
    "",
  ]);
  return [
    ...lines,
    `${report.accounts.length} accounts, ${report.flagged} flagged (due within ${report.due_within_days} days).`,
  ];
}
