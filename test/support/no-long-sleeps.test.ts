import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "./source-files.js";

/**
 * Tests move time (a TestClock, test/support/test-clock.ts) instead of sleeping: a sleep longer
 * than 100 ms is allowed only where time cannot be moved — crash, shutdown and UI tests, and the
 * few waits listed below, each for real time passing in another process or a real outage.
 */
const MAX_SLEEP_MS = 100;
const TEST_ROOT = join(import.meta.dirname, "..");
const EXEMPT = ["crash/", "ui/", "e2e/graceful-shutdown.test.ts"];

/** File → how many long sleeps it may keep, and why time cannot be moved there. */
const KNOWN: Record<string, { count: number; why: string }> = {
  "e2e/people.test.ts": {
    count: 1,
    why: "a spawned server's lockout is outwaited in real time: a login to poll it would count as a failure",
  },
  "disruptive/database-outage.test.ts": { count: 1, why: "PostgreSQL is stopped for 3 s" },
};

/** `setTimeout(resolve, ms)` or `sleep(ms)` used to wait (not a watchdog timer with a callback). */
const SLEEP = /\bsetTimeout\(\s*[A-Za-z_$][\w$]*\s*,\s*([^)]*)\)|\bsleep\(([^)]*)\)/g;

/** The longest time a sleep's argument can name: its number literals and the file's numeric constants. */
function longestMs(argument: string, source: string): number {
  const values = [...argument.matchAll(/\b\d[\d_]*\b|\b[A-Z][A-Z0-9_]*\b/g)].map(([token]) => {
    if (/^\d/.test(token)) return Number(token.replaceAll("_", ""));
    const constant = new RegExp(`const ${token}\\s*=\\s*([\\d_]+)\\b`).exec(source);
    return constant ? Number((constant[1] as string).replaceAll("_", "")) : 0;
  });
  return Math.max(0, ...values);
}

function longSleeps(): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const path of sourceFiles(TEST_ROOT)) {
    const name = relative(TEST_ROOT, path).replaceAll("\\", "/");
    if (EXEMPT.some((prefix) => name.startsWith(prefix))) continue;
    const source = readFileSync(path, "utf8");
    for (const match of source.matchAll(SLEEP)) {
      const argument = match[1] ?? match[2] ?? "";
      if (longestMs(argument, source) > MAX_SLEEP_MS) found[name] = [...(found[name] ?? []), match[0]];
    }
  }
  return found;
}

describe("the tests' sleeps", () => {
  it(`are at most ${MAX_SLEEP_MS} ms outside crash, shutdown and UI tests, but for the known waits on real time`, () => {
    const counts = Object.fromEntries(
      Object.entries(longSleeps()).map(([name, calls]) => [name, calls.length]),
    );
    expect(counts).toEqual(
      Object.fromEntries(Object.entries(KNOWN).map(([name, { count }]) => [name, count])),
    );
  });

  it("are found by the scan: a literal, a constant and an expression", () => {
    const source = "const WAIT_MS = 1_500;";
    expect(longestMs("200", source)).toBe(200);
    expect(longestMs("WAIT_MS", source)).toBe(1500);
    expect(longestMs("lockedFor * 1000 + 100", source)).toBe(1000);
    expect(longestMs("50", source)).toBe(50);
  });
});
