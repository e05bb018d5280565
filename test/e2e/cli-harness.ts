import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { newTestStorage, serverStorageFlags, type TestStorage } from "../support/storage.js";
import { tempDir } from "../support/tools.js";

/** Runs the real `bin/breakglass`: a server as a child process and CLI commands against it. */

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(REPO, "bin", "breakglass");

/** Every file below a directory, recursively. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** A port nothing listens on right now: bind port 0, read it, let it go. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

export interface SpawnedServer {
  url: string;
  /** Everything the server wrote on stdout and stderr so far. */
  log(): string;
  /** False once the process has exited, whether by itself or by a signal. */
  running(): boolean;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies at once, as in a crash. */
  kill(): Promise<void>;
}

export interface ServerProcess extends SpawnedServer {
  storage: TestStorage;
}

/** `breakglass server --listen 127.0.0.1:PORT --data DIR|--database URL [ARGS]` as a child process, ready to answer. */
export async function startServerProcess(
  storage: TestStorage,
  args: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const server = await spawnServer(
    ["--listen", `127.0.0.1:${port}`, ...serverStorageFlags(storage), ...args],
    { url: `http://127.0.0.1:${port}`, env: options.env },
  );
  return { ...server, storage };
}

/** `breakglass server ARGS` as a child process, ready once /v1/sys/health at `url` answers (any status). */
export async function spawnServer(
  args: string[],
  where: { url: string; cwd?: string; env?: Record<string, string> },
): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [BIN, "server", ...args], {
    cwd: where.cwd ?? tempDir("breakglass-e2e-cwd-"),
    env: { PATH: process.env.PATH ?? "", ...where.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (chunk) => (log += chunk));
  child.stderr.on("data", (chunk) => (log += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  await waitForHealth(where.url, child, () => log);
  return {
    url: where.url,
    log: () => log,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

async function waitForHealth(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${log()}`);
    try {
      await fetch(`${url}/v1/sys/health`);
      // The startup line may still be in the pipe when the first request is answered.
      while (!log().includes("listening on") && Date.now() < deadline)
        await new Promise((wait) => setTimeout(wait, 20));
      return;
    } catch {
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error(`the server did not answer within 20 s:\n${log()}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs CLI commands as a user would, with its own HOME and XDG_CONFIG_HOME. Keeps a transcript of
 * every output, so a test can check that a secret never appeared in any of them.
 */
export class Cli {
  readonly home = tempDir("breakglass-e2e-home-");
  readonly transcript: string[] = [];
  constructor(public env: Record<string, string>) {}

  run(
    args: string[],
    options: {
      input?: string | Buffer;
      env?: Record<string, string>;
      /** Called with all of stderr so far at each chunk: for a command that waits on what it printed. */
      onStderr?: (stderr: string) => void;
    } = {},
  ): Promise<CliResult> {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: this.home,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: this.home,
        XDG_CONFIG_HOME: join(this.home, ".config"),
        ...this.env,
        ...options.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      options.onStderr?.(stderr);
    });
    child.stdin.end(options.input ?? "");
    return new Promise((done) =>
      child.once("close", (code) => {
        this.transcript.push(stdout, stderr);
        done({ code, stdout, stderr });
      }),
    );
  }

  /** Runs a command with a terminal for its stdout and stderr (util-linux `script`), as a person at one sees it. */
  runInTerminal(args: string[]): Promise<CliResult> {
    const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`);
    const child = spawn("script", ["-qec", quoted.join(" "), "/dev/null"], {
      cwd: this.home,
      env: { PATH: process.env.PATH ?? "", HOME: this.home, TERM: "xterm", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    return new Promise((done) =>
      child.once("close", (code) => {
        this.transcript.push(stdout);
        done({ code, stdout: stdout.replaceAll("\r\n", "\n"), stderr: "" });
      }),
    );
  }

  /** Runs a command that must succeed with --json and returns its parsed output. */
  async json(args: string[], options: { input?: string } = {}): Promise<any> {
    const result = await this.run([...args, "--json"], options);
    if (result.code !== 0)
      throw new Error(`breakglass ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout);
  }
}

/** A server initialised (k of n, no PGP) and unsealed through the CLI, with a CLI holding its root token. */
export async function initialisedServer(
  options: { shares?: number; threshold?: number } = {},
): Promise<{ server: ServerProcess; cli: Cli; shares: string[]; rootToken: string }> {
  const { shares = 3, threshold = 2 } = options;
  const server = await startServerProcess(await newTestStorage());
  const cli = new Cli({ BREAKGLASS_ADDR: server.url });
  const init = await cli.json([
    "operator",
    "init",
    "--shares",
    String(shares),
    "--threshold",
    String(threshold),
  ]);
  await unsealWith(cli, init.keys.slice(0, threshold));
  cli.env.BREAKGLASS_TOKEN = init.root_token;
  return { server, cli, shares: init.keys, rootToken: init.root_token };
}

/** Gives shares through `operator unseal -`, one per call, as custodians would. */
export async function unsealWith(cli: Cli, shares: string[]): Promise<void> {
  for (const share of shares) {
    const result = await cli.run(["operator", "unseal", "-"], { input: `${share}\n` });
    if (result.code !== 0) throw new Error(`unseal failed: ${result.stderr}`);
  }
}
