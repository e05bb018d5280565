import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as OTPAuth from "otpauth";
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

export interface ServerProcess {
  url: string;
  dataDir: string;
  /** Everything the server wrote on stdout and stderr so far. */
  log(): string;
  /** SIGTERM, then the exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** `breakglass server --listen 127.0.0.1:PORT --data DIR` as a child process, ready to answer. */
export async function startServerProcess(dataDir: string): Promise<ServerProcess> {
  const port = await freePort();
  return spawnServer(["--listen", `127.0.0.1:${port}`, "--data", dataDir], {
    url: `http://127.0.0.1:${port}`,
    dataDir,
  });
}

/** `breakglass server ARGS` as a child process, ready once /v1/sys/health at `url` answers (any status). */
export async function spawnServer(
  args: string[],
  where: { url: string; dataDir: string; env?: Record<string, string> },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, "server", ...args], {
    cwd: where.dataDir,
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
    dataDir: where.dataDir,
    log: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

async function waitForHealth(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${log()}`);
    try {
      await fetch(`${url}/v1/sys/health`);
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
    options: { input?: string | Buffer; env?: Record<string, string> } = {},
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
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdin.end(options.input ?? "");
    return new Promise((done) =>
      child.once("close", (code) => {
        this.transcript.push(stdout, stderr);
        done({ code, stdout, stderr });
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
  const server = await startServerProcess(tempDir("breakglass-e2e-data-"));
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

/** The ways a seed could be written down: raw bytes, hex, base32, base64, in the cases tools use. */
export function seedEncodings(seed: Buffer): { name: string; bytes: Buffer }[] {
  const base32 = new OTPAuth.Secret({ buffer: Uint8Array.from(seed).buffer }).base32;
  const texts: [string, string][] = [
    ["hex", seed.toString("hex")],
    ["HEX", seed.toString("hex").toUpperCase()],
    ["BASE32", base32],
    ["base32", base32.toLowerCase()],
    ["base64", seed.toString("base64")],
    ["base64url", seed.toString("base64url")],
  ];
  return [
    { name: "raw bytes", bytes: seed },
    ...texts.map(([name, text]) => ({ name, bytes: Buffer.from(text) })),
  ];
}

/** Where (and how) any of the seeds shows up in the given places; empty when none does. */
export function findSeedLeaks(
  seeds: Buffer[],
  places: { where: string; content: Buffer | string }[],
): string[] {
  const leaks: string[] = [];
  for (const [index, seed] of seeds.entries())
    for (const { name, bytes } of seedEncodings(seed))
      for (const { where, content } of places)
        if (Buffer.from(content).includes(bytes)) leaks.push(`seed ${index} as ${name} in ${where}`);
  return leaks;
}

/** Every file of a data directory (the SQLite file, its WAL and shared memory) as bytes. */
export function dataDirFiles(dir: string): { where: string; content: Buffer }[] {
  return listFiles(dir).map((file) => ({ where: file, content: readFileSync(file) }));
}
