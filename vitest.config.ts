import { defineConfig } from "vitest/config";

// Tests in test/disruptive stop shared services (the PostgreSQL server), so they run in a pass of
// their own, one file at a time (scripts/run-tests.mjs sets BREAKGLASS_TEST_DISRUPTIVE for it).
const disruptive = process.env.BREAKGLASS_TEST_DISRUPTIVE === "1";

export default defineConfig({
  test: {
    include: disruptive ? ["test/disruptive/**/*.test.ts"] : ["test/**/*.test.ts"],
    exclude: disruptive ? [] : ["test/disruptive/**", "node_modules/**"],
    fileParallelism: !disruptive,
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests start real servers and tools; two cores, so keep files from starving each other.
    maxWorkers: 2,
  },
});
