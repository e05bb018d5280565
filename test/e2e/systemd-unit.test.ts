import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS } from "../../src/server/shutdown.js";
import { REPO } from "./cli-harness.js";

/** docs/breakglass.service: what systemd makes of it, and the settings that protect key material. */

const UNIT = join(REPO, "docs", "breakglass.service");
const settings = readFileSync(UNIT, "utf8")
  .split("\n")
  .filter((line) => /^[A-Za-z]+=/.test(line));
// verify also checks that ExecStart's program (/usr/bin/node, as Debian installs it) exists.
const canVerify = spawnSync("systemd-analyze", ["--version"]).status === 0 && existsSync("/usr/bin/node");

describe("the sample systemd unit", () => {
  it.skipIf(!canVerify)("systemd-analyze verify finds nothing to say about it", () => {
    const verify = spawnSync("systemd-analyze", ["verify", UNIT], { encoding: "utf8" });
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);
  });

  it("no core dumps, private files, no capabilities, a read-only system but for the data directory", () => {
    expect(settings).toEqual(
      expect.arrayContaining([
        "LimitCORE=0",
        "UMask=0077",
        "CapabilityBoundingSet=",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/breakglass",
        "SystemCallFilter=@system-service",
        "User=breakglass",
      ]),
    );
    // V8's JIT writes the code it runs: Node.js does not start under MemoryDenyWriteExecute.
    expect(settings.filter((line) => line.startsWith("MemoryDenyWriteExecute="))).toEqual([]);
  });

  it("stops with SIGTERM and leaves breakglass's own shutdown timeout to act first", () => {
    expect(settings).toContain("KillSignal=SIGTERM");
    const stopSeconds = Number(
      settings.find((line) => line.startsWith("TimeoutStopSec="))?.match(/=(\d+)s$/)?.[1],
    );
    expect(stopSeconds).toBeGreaterThan(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS + 5);
  });
});
