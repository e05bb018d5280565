import type { SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { CopyProgress, MigrationSummary } from "../../server/migrate-sqlite-to-postgres.js";
import { CliError, emit, table, usageError } from "../output.js";
import { stderrProgressBar } from "../progress.js";

const POSTGRES_URL = /^postgres(ql)?:\/\//;

export function registerMigrate(program: Command): void {
  const migrate = program.command("migrate").description("move a vault to another storage engine");

  migrate
    .command("sqlite-to-postgres")
    .description(
      "copy a single-node install (SQLite data directory) into an empty PostgreSQL database, then verify its audit chain there",
    )
    .requiredOption("--from <dir>", "the SQLite data directory (the server's --data)")
    .requiredOption("--to <url>", "an empty PostgreSQL database: postgres://user@host:5432/breakglass")
    .addHelpText(
      "after",
      [
        "",
        "Stop the server on DIR first: the copy holds SQLite's write lock throughout, so a running",
        "server would refuse every request meanwhile (it fails closed). Everything is copied in one",
        "PostgreSQL transaction: all or nothing. Seeds stay encrypted and no shares are needed; unseal",
        "the server on PostgreSQL with the same shares afterwards.",
      ].join("\n"),
    )
    .action(async (options: { from: string; to: string }, command: Command) => {
      const { json, debug } = command.optsWithGlobals<{ json?: boolean; debug?: boolean }>();
      if (!POSTGRES_URL.test(options.to))
        throw usageError("--to must be a PostgreSQL URL such as postgres://user@host:5432/breakglass");
      // Loaded here, not at the top: the other commands start faster without the database drivers.
      const { migrateSqliteToPostgres, MigrationError } = await import(
        "../../server/migrate-sqlite-to-postgres.js"
      );
      const bar = await stderrProgressBar("copying [{bar}] {value}/{total} rows  {table}");
      const progress = bar ? progressBar(bar) : progressLines();
      let summary: MigrationSummary;
      try {
        summary = await migrateSqliteToPostgres(options.from, options.to, progress);
      } catch (error) {
        if (error instanceof MigrationError) throw new CliError(error.message);
        throw error;
      } finally {
        progress.stop();
      }
      const nextStep = `start: breakglass server --database ${summary.target}; then unseal with the same shares`;
      emit({ json: Boolean(json), debug: Boolean(debug) }, { ...summary, next_step: nextStep }, (data) => [
        `Copied ${data.source} to ${data.target}:`,
        ...table(Object.entries(data.rows).map(([name, rows]) => [`  ${name}`, rows])),
        `Audit chain verified on PostgreSQL: ${data.audit.entries} entries, head seq ${data.audit.head_seq} hash ${data.audit.head_hash ?? "-"}`,
        `Next: ${data.next_step}.`,
      ]);
    });
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
    tableCopied: (name, rows) =>
      process.stderr.write(`copy ${name}: ${rows} ${rows === 1 ? "row" : "rows"}\n`),
    stop: () => {},
  };
}
