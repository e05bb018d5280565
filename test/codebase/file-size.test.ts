import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/source-files.js";

/**
 * A file long enough to need scrolling through is usually two things: past 400 lines a source file
 * says at its top, in one comment line starting "// Over 400 lines:", why it stays whole.
 */

const MOST_LINES = 400;
const REASON = /^\/\/ Over 400 lines: \S/;

describe("the code base", () => {
  it(`has no source file over ${MOST_LINES} lines without a reason at its top`, () => {
    const unexplained = [
      ...sourceFiles("src", /\.(ts|tsx|cjs|mjs)$/),
      ...sourceFiles("ui/src", /\.(ts|tsx|cjs|mjs)$/),
    ]
      .map((path) => ({ path, lines: readFileSync(path, "utf8").split("\n") }))
      .filter(({ lines }) => lines.length > MOST_LINES && !REASON.test(lines[0] ?? ""))
      .map(({ path, lines }) => `${path} (${lines.length} lines)`);
    expect(unexplained).toEqual([]);
  });
});
