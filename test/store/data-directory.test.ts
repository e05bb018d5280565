import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initAndUnseal, startTestServer } from "../support/server.js";
import { TEST_ENGINE } from "../support/storage.js";
import { tempDir } from "../support/tools.js";

/**
 * The SQLite data directory holds sealed seeds, token HMACs and the audit log: 0700, its files
 * 0600, whatever the umask and however the directory was made, checked at every start.
 */

const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, "0");
/** The directory's mode and each file's, by name. */
function modes(dir: string): Record<string, string> {
  const found: Record<string, string> = { ".": modeOf(dir) };
  for (const name of readdirSync(dir)) found[name] = modeOf(join(dir, name));
  return found;
}
/** The warn lines about tightened modes in a server's log. */
const tightenedLines = (log: string) =>
  log
    .split("\n")
    .filter((line) => line.includes("data directory permissions tightened"))
    .map((line) => JSON.parse(line));

let umask: number;
beforeAll(() => {
  umask = process.umask(0o022);
});
afterAll(() => {
  process.umask(umask);
});

describe.skipIf(TEST_ENGINE !== "sqlite")("the data directory's modes, under umask 022", () => {
  it("a new data directory is 0700 and its database, -wal and -shm 0600 from the start, with nothing to warn of", async () => {
    const dir = join(tempDir(), "data");
    const t = await startTestServer({ storage: { engine: "sqlite", dataDir: dir }, captureLog: "info" });
    try {
      await initAndUnseal(t);
      expect(modes(dir)).toEqual({
        ".": "0700",
        "breakglass.sqlite": "0600",
        "breakglass.sqlite-shm": "0600",
        "breakglass.sqlite-wal": "0600",
      });
      expect(tightenedLines(t.log())).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it("an existing 0755 directory with 0644 files is made 0700 and 0600 at start, and the start says so once in a warn line naming each path and its old mode", async () => {
    const dir = join(tempDir(), "data");
    const first = await startTestServer({ storage: { engine: "sqlite", dataDir: dir } });
    await initAndUnseal(first);
    await first.close();
    // As an older version left it, or as someone made it by hand.
    chmodSync(dir, 0o755);
    for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
    writeFileSync(join(dir, "notes.txt"), "written here by an operator\n", { mode: 0o644 });
    mkdirSync(join(dir, "elsewhere"), { mode: 0o755 });

    const t = await startTestServer({ storage: { engine: "sqlite", dataDir: dir }, captureLog: "info" });
    try {
      expect(modes(dir)).toEqual({
        ".": "0700",
        "breakglass.sqlite": "0600",
        "breakglass.sqlite-shm": "0600",
        "breakglass.sqlite-wal": "0600",
        "notes.txt": "0600",
        elsewhere: "0755", // a directory, not a file of the server's: left as it is
      });
      const lines = tightenedLines(t.log());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, dir });
      const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
      expect([...lines[0].changed].sort(byPath)).toEqual([
        { path: dir, old_mode: "0755", mode: "0700" },
        { path: join(dir, "breakglass.sqlite"), old_mode: "0644", mode: "0600" },
        { path: join(dir, "notes.txt"), old_mode: "0644", mode: "0600" },
      ]);
    } finally {
      await t.close();
    }

    // Nothing left to change: the next start says nothing.
    const again = await startTestServer({ storage: { engine: "sqlite", dataDir: dir }, captureLog: "info" });
    await again.close();
    expect(tightenedLines(again.log())).toEqual([]);
  });
});
