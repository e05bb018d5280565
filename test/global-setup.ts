import { execFileSync } from "node:child_process";
import {
  dropTestDatabases,
  newTestRunMark,
  POSTGRES_ADMIN_URL,
  POSTGRES_HOW_TO,
  TEST_ENGINE,
} from "./support/storage.js";

/**
 * Once around the whole run: the tests check breakglass against independent tools, so say
 * plainly which are missing; the end-to-end tests run the built CLI, so build it; PostgreSQL
 * test databases are dropped afterwards.
 */
export default async function prepareTestRun(): Promise<() => Promise<void>> {
  // Inherited by the test workers: this run's PostgreSQL databases carry it in their names.
  process.env.BREAKGLASS_TEST_RUN ??= newTestRunMark();
  const missing = [
    "oathtool",
    "gpg",
    "gpgconf",
    "qrencode",
    "zbarimg",
    "sha256sum",
    "python3",
    "jq",
    "pg_dump",
    "chromium",
  ].filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0)
    throw new Error(
      `missing test tools: ${missing.join(", ")}. Install them: apt-get install -y oathtool gnupg qrencode zbar-tools jq postgresql-client chromium`,
    );
  if (TEST_ENGINE === "postgres" && !POSTGRES_ADMIN_URL)
    throw new Error(`BREAKGLASS_TEST_ENGINE=postgres needs a database. ${POSTGRES_HOW_TO}`);
  if (!POSTGRES_ADMIN_URL) console.warn(POSTGRES_HOW_TO);
  console.log(`storage engine under test: ${TEST_ENGINE}`);
  // A production build, as users get (vitest's NODE_ENV=test would make Vite build for development).
  execFileSync("npm", ["run", "--silent", "build"], {
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
  await dropTestDatabases();
  return dropTestDatabases;
}
