// npm run screenshots: the pictures in docs/ are the UI tests' own, never made by hand. Runs the
// Chromium tests (test/ui), which write every screen into test-output/screenshots/, then copies
// the ones docs/ui.md shows (each `screenshots/NAME.png` it names) into docs/screenshots/.
// Exit 1, naming them, when the tests fail or a picture the page shows was not taken.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const taken = join(root, "test-output", "screenshots");
const published = join(root, "docs", "screenshots");
const names = [
  ...new Set(readFileSync(join(root, "docs", "ui.md"), "utf8").match(/(?<=screenshots\/)[\w-]+\.png/g)),
];

const run = spawnSync("npx", ["vitest", "run", "test/ui"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, BREAKGLASS_TEST_ENGINE: "sqlite" },
});
if (run.status !== 0) {
  console.error("screenshots: the UI tests failed, docs/screenshots is unchanged");
  process.exit(1);
}
const missing = names.filter((name) => !existsSync(join(taken, name)));
if (missing.length > 0) {
  console.error(`screenshots: docs/ui.md shows pictures no UI test took: ${missing.join(", ")}`);
  process.exit(1);
}
for (const name of names) copyFileSync(join(taken, name), join(published, name));
console.log(`screenshots: ${names.length} copied into docs/screenshots (${names.join(", ")})`);
