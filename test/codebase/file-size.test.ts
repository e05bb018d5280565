import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * A file long enough to need scrolling through is usually two things: past 400 lines a source file
 * says at its top, in one comment line starting "// Over 400 lines:", why it stays whole.
 */

const MOST_LINES = 400;
const REASON = /^\/\/ Over 400 lines: \S/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|cjs|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe("the code base", () => {
  it(`has no source file over ${MOST_LINES} lines without a reason at its top`, () => {
    const unexplained = [...sourceFiles("src"), ...sourceFiles("ui/src")]
      .map((path) => ({ path, lines: readFileSync(path, "utf8").split("\n") }))
      .filter(({ lines }) => lines.length > MOST_LINES && !REASON.test(lines[0] ?? ""))
      .map(({ path, lines }) => `${path} (${lines.length} lines)`);
    expect(unexplained).toEqual([]);
  });
});
