import type { SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { CopyProgress, MigrationReport } from "../../server/migrate-sqlite-to-postgres.js";
import { CliError, emit, table, usageError } from "../output.js";
import { stderrProgressBar } from "../progress.js";

const POSTGRES_URL = /^postgres(ql)?:\/\//;

export function registerMigrate(program: Command): void {
  const migrate = program.command("migrate").description("move a vault to another storage engine");

  migrate
    .command("sqlite-to-postgres")
    .description(
      "copy a single-node install (SQLite data directory) into an empty PostgreSQL database, then check every table and the audit chain there",
    )
    .requiredOption("--from <dir>", "the SQLite data directory (the server's --data)")
    .requiredOption("--to <url>", "an empty PostgreSQL database: postgres://user@host:5432/breakglass")
    .option("--verify-only", "copy nothing: check a copy made before against the source again")
    .addHelpText(
      "after",
      [
        "",
        "Stop the server on DIR first: the copy holds SQLite's write lock throughout, so a running",
        "server would refuse every request meanwhile (it fails closed). Everything is copied in one",
        "PostgreSQL transaction: all or nothing. Seeds stay encrypted and no shares are needed; unseal",
        "the server on PostgreSQL with the same shares afterwards.",
        "",
        "Then every table is read back: its rows and a SHA-256 of their content must match the",
        "source's, and the audit chain must verify; otherwise exit 1, naming the table. Run it again",
        "after an interruption: it copies, or finds this vault copied and checks it. Exit codes:",
        "0 copied (or found) and verified, 1 refused or a difference, 2 usage.",
      ].join("\n"),
    )
    .action(async (options: { from: string; to: string; verifyOnly?: boolean }, command: Command) => {
      const { json, debug } = command.optsWithGlobals<{ json?: boolean; debug?: boolean }>();
      if (!POSTGRES_URL.test(options.to))
        throw usageError("--to must be a PostgreSQL URL such as postgres://user@host:5432/breakglass");
      // Loaded here, not at the top: the other commands start faster without the database drivers.
      const { migrateSqliteToPostgres, verifySqliteToPostgres, MigrationError } = await import(
        "../../server/migrate-sqlite-to-postgres.js"
      );
      let report: MigrationReport;
      const progress = options.verifyOnly ? null : await copyProgress();
      try {
        report = progress
          ? await migrateSqliteToPostgres(options.from, options.to, progress)
          : await verifySqliteToPostgres(options.from, options.to);
      } catch (error) {
        if (error instanceof MigrationError) throw new CliError(error.message);
        throw error;
      } finally {
        progress?.stop();
      }
      const nextStep = `start: breakglass server --database ${report.target}; then unseal with the same shares (to check the copy again before that: this command with --verify-only)`;
      emit(
        { json: Boolean(json), debug: Boolean(debug) },
        { ...report, next_step: report.problem ? null : nextStep },
        describeReport,
      );
      if (report.problem) throw new CliError(report.problem);
    });
}

const HEADINGS: Record<MigrationReport["outcome"], string> = {
  copied: "Copied",
  "already copied": "Nothing copied: the target already holds this vault, copied before. Checked",
  verified: "Checked",
};

function describeReport(report: MigrationReport & { next_step: string | null }): string[] {
  const rows = report.tables.map((check) =>
    check.match ? rowCount(check.source_rows) : `${rowCount(check.source_rows)}, target ${check.target_rows}`,
  );
  const width = Math.max(...rows.map((text) => text.length));
  const lines = [
    `${HEADINGS[report.outcome]} ${report.source} → ${report.target}:`,
    ...table(
      report.tables.map((check, i) => [
        `  ${check.table}`,
        `${rows[i]?.padEnd(width)}  sha256 ${check.source_sha256.slice(0, 16)}${
          check.match ? "  match" : `, target ${check.target_sha256.slice(0, 16)}  DIFFERS`
        }`,
      ]),
    ),
  ];
  if (report.problem) return lines;
  return [
    ...lines,
    `Every table matches the source: rows and SHA-256 of their content (schema ${report.schema ?? "-"}).`,
    `Audit chain verified on PostgreSQL: ${report.audit.entries} entries, head seq ${report.audit.head_seq} hash ${report.audit.head_hash ?? "-"}`,
    `Next: ${report.next_step}.`,
  ];
}

const rowCount = (rows: number) => `${rows} ${rows === 1 ? "row" : "rows"}`;

/** A bar on a terminal, a line per table otherwise. */
async function copyProgress(): Promise<CopyProgress & { stop(): void }> {
  const bar = await stderrProgressBar("copying [{bar}] {value}/{total} rows  {table}");
  return bar ? progressBar(bar) : progressLines();
}

/** One bar over every row. */
function progressBar(bar: SingleBar): CopyProgress & { stop(): void } {
  return {
    counted: (rows) =>
      bar.start(
        Object.values(rows).reduce((sum, n) => sum + n, 0),
        0,
        { table: "" },
      ),
    copied: (name, rows) => bar.increment(rows, { table: name }),
    tableCopied: () => {},
    stop: () => bar.stop(),
  };
}

/** Not a terminal (a log, a pipe): a line per table instead of a redrawn bar. */
function progressLines(): CopyProgress & { stop(): void } {
  return {
    counted: () => {},
    copied: () => {},
    tableCopied: (name, rows) => process.stderr.write(`copy ${name}: ${rowCount(rows)}\n`),
    stop: () => {},
  };
}
