import type { SingleBar } from "cli-progress";

/**
 * A progress bar redrawn on stderr, so stdout stays the command's output (or its JSON); null when
 * stderr is not a terminal (a log, a pipe), where a redrawn bar would be noise.
 */
export async function stderrProgressBar(format: string): Promise<SingleBar | null> {
  if (!process.stderr.isTTY) return null;
  // Loaded here, not at the top: commands without a bar start faster.
  const { Presets, SingleBar } = await import("cli-progress");
  return new SingleBar({ stream: process.stderr, format, hideCursor: true }, Presets.shades_classic);
}

/** "12.3 MB", for sizes in progress and summaries. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
