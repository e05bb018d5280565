import { execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type ApiResponse, callApi, RELEASED_CODE } from "../support/server.js";
import { TEST_ENGINE } from "../support/storage.js";
import { tempDir } from "../support/tools.js";
import { freePort, REPO, type ServerProcess, startServerProcess } from "./cli-harness.js";
import { unsealedWithOneCredential } from "./nodes-under-load.js";

/**
 * The data directory on a small filesystem of its own (an 8 MB tmpfs, mounted and unmounted
 * here), under a real server process: filled to the last byte, then freed. SQLite only: the
 * data directory is SQLite's; PostgreSQL's refusals are classified by the same code
 * (test/store/storage-faults.test.ts).
 */

const mountPoint = tempDir("breakglass-full-disk-");
const mounted = (() => {
  if (TEST_ENGINE !== "sqlite" || process.getuid?.() !== 0) return false;
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mountPoint], { stdio: "pipe" });
    return true;
  } catch (error) {
    console.warn(`full-disk test skipped: cannot mount a tmpfs (${(error as Error).message})`);
    return false;
  }
})();
if (TEST_ENGINE !== "sqlite")
  console.warn("full-disk test: runs in the SQLite pass (its data directory is SQLite's)");
else if (process.getuid?.() !== 0)
  console.warn("full-disk test skipped: mounting a small filesystem needs root");

const dataDir = join(mountPoint, "data");
const filler = join(mountPoint, "filler");

/** Writes a file until the filesystem refuses another byte (ENOSPC), leaving the database in place. */
function fillTheDisk(): void {
  const fd = openSync(filler, "a");
  try {
    for (const chunk of [1 << 20, 4096, 512, 1])
      try {
        for (;;) writeSync(fd, Buffer.alloc(chunk));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
  } finally {
    closeSync(fd);
  }
}

const freeTheDisk = () => rmSync(filler, { force: true });

/** The log lines (JSON) whose message matches. */
function logLines(log: string, msg: RegExp): Record<string, unknown>[] {
  return log
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.msg === "string" && msg.test(line.msg));
}

/** Asks until `done` holds (at most `attempts` × 100 ms); the last answer. */
async function pollUntil(
  ask: () => Promise<ApiResponse>,
  done: (answer: ApiResponse) => boolean,
  attempts = 300,
): Promise<ApiResponse> {
  let answer = await ask();
  for (let attempt = 0; attempt < attempts && !done(answer); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await ask();
  }
  return answer;
}

describe.skipIf(!mounted)("the data directory's disk fills up under a running SQLite node", () => {
  let node: ServerProcess | undefined;
  let root: string;

  beforeAll(async () => {
    mkdirSync(dataDir, { mode: 0o700 });
    node = await startServerProcess({ engine: "sqlite", dataDir });
    root = await unsealedWithOneCredential([node.url]);
    expect((await callApi(node.url, "GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
  });

  afterAll(async () => {
    await node?.stop();
    if (mounted) execFileSync("umount", ["-l", mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it("refuses code reads with 503 and releases nothing, says so on health with the cause, logs once per interval, and recovers by itself once space is freed", async () => {
    const server = node as ServerProcess;
    const read = () => callApi(server.url, "GET", "/v1/totp/code/aws-prod-root", { token: root });
    fillTheDisk();
    onTestFinished(freeTheDisk);
    const faultStarted = Date.now();

    const answers: ApiResponse[] = [];
    for (let round = 0; round < 20; round++)
      answers.push(...(await Promise.all(Array.from({ length: 10 }, read))));
    const statuses = new Set(answers.map((answer) => answer.status));
    console.log(`code reads on a full disk answered ${[...statuses].join(", ")} (${answers.length} reads)`);
    expect(statuses).toEqual(new Set([503]));
    for (const answer of answers) {
      expect(answer.json.errors).toEqual([expect.stringMatching(/disk .*is full/)]);
      expect(answer.text).not.toMatch(RELEASED_CODE);
    }

    const health = await callApi(server.url, "GET", "/v1/sys/health");
    console.log(`health on a full disk: ${health.status} ${health.text}`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({
      sealed: false,
      problems: [{ cause: "storage_write", message: expect.stringMatching(/disk .*is full/) }],
    });
    // A load balancer's own status code, as for a sealed node.
    expect((await callApi(server.url, "GET", "/v1/sys/health?sealedcode=429")).status).toBe(429);

    const faultLog = server.log();
    const faultSeconds = (Date.now() - faultStarted) / 1000;
    const failures = logLines(faultLog, /audit commit failed/);
    console.log(
      `${answers.length} refused reads in ${faultSeconds.toFixed(1)} s: ${failures.length} "audit commit failed" line(s), ${faultLog.split("\n").length} log lines in all`,
    );
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures.length).toBeLessThanOrEqual(Math.ceil(faultSeconds / 10) + 1);
    expect(failures[0]?.err).toMatchObject({ message: expect.stringMatching(/full/) });
    expect(faultLog).not.toContain("the audit chain head moved");
    expect(faultLog).not.toContain("internal error");

    // Nobody asks for a code meanwhile: the node finds out by itself that it can write again.
    freeTheDisk();
    const freed = Date.now();
    const recovered = await pollUntil(
      () => callApi(server.url, "GET", "/v1/sys/health"),
      (answer) => answer.status === 200,
    );
    console.log(
      `health back to ${recovered.status} ${((Date.now() - freed) / 1000).toFixed(1)} s after freeing the disk`,
    );
    expect(recovered.status).toBe(200);
    expect(recovered.json.problems).toEqual([]);
    const back = logLines(server.log(), /storage writes succeed again/);
    console.log(`recovery line: ${JSON.stringify(back)}`);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ by: "probe", failures: expect.any(Number) });

    const again = await read();
    expect(again.status).toBe(200);
    expect(again.json.data.code).toMatch(/^\d{6}$/);
    const verified = await callApi(server.url, "GET", "/v1/audit/verify", { token: root });
    expect(verified.json.data ?? verified.json).toMatchObject({ intact: true });
    const entries = await callApi(server.url, "GET", "/v1/audit/export", { token: root });
    const codeReads = entries.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.action === "totp.code.read" && entry.outcome === "allowed");
    expect(codeReads).toHaveLength(2); // the one before the fault and the one after: none while it lasted
    expect(server.log()).not.toContain("the audit chain head moved");
  });

  /** `breakglass server --data DIR` on the data directory as it is: its exit code and output, once it exits. */
  async function startOnTheDataDirectory(): Promise<{ code: number | null; output: string }> {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(REPO, "bin", "breakglass"), "server", "--listen", `127.0.0.1:${port}`, "--data", dataDir],
      { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const stuck = setTimeout(() => child.kill("SIGKILL"), 30_000); // a start that hangs fails, not the run
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    clearTimeout(stuck);
    return { code, output };
  }

  it("a start on the full disk exits 1 with a line naming the data directory and the cause", async () => {
    expect(await node?.stop()).toBe(0);
    node = undefined;
    fillTheDisk();
    try {
      const { code, output } = await startOnTheDataDirectory();
      console.log(`a start on a full disk: exit ${code}: ${output.trim()}`);
      expect(code).toBe(1);
      expect(output).toContain(`cannot write to ${dataDir}: the disk is full (ENOSPC)`);
    } finally {
      freeTheDisk();
    }
  });

  it("a start on a read-only filesystem exits 1 naming it", async () => {
    execFileSync("mount", ["-o", "remount,ro", mountPoint]);
    try {
      const { code, output } = await startOnTheDataDirectory();
      console.log(`a start on a read-only filesystem: exit ${code}: ${output.trim()}`);
      expect(code).toBe(1);
      expect(output).toContain(`cannot write to ${dataDir}: the filesystem is read-only (EROFS)`);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", mountPoint]);
    }
  });
});
