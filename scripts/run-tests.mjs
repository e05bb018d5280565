// npm test: the whole suite once per storage engine — SQLite always, PostgreSQL as well when
// BREAKGLASS_TEST_DATABASE_URL names a server — then one closing line "N passed, N failed, N skipped".
// Extra arguments go to vitest (e.g. a test file path).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const engines = ["sqlite", ...(process.env.BREAKGLASS_TEST_DATABASE_URL ? ["postgres"] : [])];
if (engines.length === 1)
  console.log(
    "PostgreSQL run skipped: set BREAKGLASS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it",
  );

const reports = mkdtempSync(join(tmpdir(), "breakglass-test-report-"));
const totals = { passed: 0, failed: 0, skipped: 0 };
let allPassed = true;
for (const { engine, disruptive } of passes) {
  const name = disruptive ? `${engine}, disruptive` : engine;
  console.log(`\n=== test suite on ${name} ===`);
  const report = join(reports, `${name}.json`);
  const run = spawnSync(
    "npx",
    [
      "vitest",
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
      ...process.argv.slice(2),
    ],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        BREAKGLASS_TEST_ENGINE: engine,
        BREAKGLASS_TEST_DISRUPTIVE: disruptive ? "1" : "0",
      },
    },
  );
  let result = null;
  try {
    result = JSON.parse(readFileSync(report, "utf8"));
  } catch {}
  if (run.status !== 0 || !result) allPassed = false;
  if (!result) {
    totals.failed += 1; // the run died before reporting: count it as a failure, never as a pass
    continue;
  }
  totals.passed += result.numPassedTests;
  totals.failed += result.numFailedTests;
  totals.skipped += result.numPendingTests + result.numTodoTests;
  console.log(`${name}: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(allPassed && totals.failed === 0 ? 0 : 1);
