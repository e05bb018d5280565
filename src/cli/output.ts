/** How the CLI speaks: data on stdout (human or --json), one-line errors on stderr, exit codes 0/1/2. */

export interface OutputMode {
  json: boolean;
  debug: boolean;
}

/** A failure the user can act on: shown as `error: <message>`, never with a stack trace unless --debug. */
export class CliError extends Error {
  constructor(
    message: string,
    /** 1 for errors, 2 for usage errors (as commander's own), 3 for "intact, but not all signed" (audit verify). */
    readonly exitCode: 1 | 2 | 3 = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string) => new CliError(message, 2);

/** Prints the API's data as JSON, or the human rendering of it. */
export function emit<T>(mode: OutputMode, data: T, human: (data: T) => string | string[]): void {
  if (mode.json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const text = human(data);
  const lines = Array.isArray(text) ? text.join("\n") : text;
  if (lines.length > 0) process.stdout.write(`${lines}\n`);
}

/** Writes the one-line message for any error and returns the exit code. */
export function reportError(error: unknown, debug: boolean): number {
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  // The status helps someone reading the API, not someone at the CLI.
  if (debug && typeof (error as { status?: unknown }).status === "number")
    process.stderr.write(`HTTP status: ${(error as { status: number }).status}\n`);
  return exitCode;
}

/** Aligned "label  value" lines for human output. */
export function table(rows: [string, string | number | boolean][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/**
 * Rows as aligned columns, the first row the heading. Given a `width` (a terminal's), a longer
 * line is cut to it with "…": the last column, the one that varies most, goes first.
 */
export function columns(rows: string[][], width?: number): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map((row) => {
    const line = row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
    return width !== undefined && line.length > width ? `${line.slice(0, width - 1)}…` : line;
  });
}
