// npm test: the whole suite once per storage engine — SQLite always; PostgreSQL as well when
// BREAKGLASS_TEST_DATABASE_URL names a server, then the disruptive tests (they stop PostgreSQL)
// alone — and one closing line "N passed, N failed, N skipped" over all passes.
// Extra arguments go to vitest (e.g. a test file path).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Each pass: a storage engine, and whether it is the disruptive pass (stops PostgreSQL; alone, last).
const passes = [{ engine: "sqlite" }];
if (process.env.BREAKGLASS_TEST_DATABASE_URL)
  passes.push({ engine: "postgres" }, { engine: "postgres", disruptive: true });
else
  console.log(
    "PostgreSQL passes skipped: set BREAKGLASS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run them",
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
  totals.passed += result?.numPassedTests ?? 0;
  totals.skipped += (result?.numPendingTests ?? 0) + (result?.numTodoTests ?? 0);
  // A pass that failed without a failing test (setup error, crash, no report) still counts as one failure.
  totals.failed += Math.max(result?.numFailedTests ?? 0, run.status === 0 ? 0 : 1);
  if (!result) continue;
  console.log(`${name}: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(allPassed && totals.failed === 0 ? 0 : 1);
