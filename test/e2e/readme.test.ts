import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAtProvider, startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { newTestStorage } from "../support/storage.js";
import { tempDir } from "../support/tools.js";
import { REPO, type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * The README's tour and people section, pasted in order as a new user would: every shell line of
 * their ```sh blocks runs in bash against a fresh server, and any command that fails fails the test
 * naming it. Each block is one terminal (its `export`s hold for the rest of the block). What a person
 * would type at a prompt (shares, the root token, passwords) comes from the table below, and the
 * approval ID Bob copies from `approvals list` is the one Alice's waiting command announced.
 */

const SECTIONS = [
  "A 5-minute tour",
  "People, groups, roles and the two-person rule",
  "Sign-in with your identity provider (SSO)",
];
/** The README's example provider, played by a real one on loopback (test/support/oidc-provider.ts). */
const README_PROVIDER = "https://sso.acme.example/realms/acme";
const PASSWORD = "a long enough password for the tour";

interface Block {
  section: string;
  index: number;
  commands: string[];
}

/** The ```sh blocks of a `## ` section, each as its commands: continuations joined, comment lines dropped. */
function shellBlocks(readme: string, section: string): Block[] {
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "## ${section}"`);
  const end = readme.indexOf("\n## ", start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match, index) => ({
    section,
    index: index + 1,
    commands: (match[1] as string)
      .replace(/\\\n\s*/g, "")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.length > 0 && !line.startsWith("#")),
  }));
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("README: the tour and the people section run as pasted", () => {
  let server: ServerProcess;
  const home = tempDir("breakglass-readme-home-");
  const shim = tempDir("breakglass-readme-bin-");
  const shares: string[] = [];
  let rootToken = "";
  let unsealed = 0;
  /** Commands left running, as in a terminal one leaves waiting (`--wait`), awaited at the end. */
  const background: { command: string; done: Promise<Run> }[] = [];
  let approvalId = "";
  let idp: TestProvider;

  beforeAll(async () => {
    server = await startServerProcess(await newTestStorage());
    idp = await startTestProvider({
      redirectUris: ["http://localhost:8250/oidc/callback"],
      people: { "sub-frank": { username: "frank", password: PASSWORD, groups: ["sre"] } },
    });
    // `npm link`, as the README says: `breakglass` on the PATH runs this checkout's bin/breakglass.
    writeFileSync(
      join(shim, "breakglass"),
      `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, "bin", "breakglass")}" "$@"\n`,
    );
    chmodSync(join(shim, "breakglass"), 0o755);
  });

  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  /** What a person types at the command's prompt, if it has one. */
  function answerFor(command: string): string {
    if (/operator unseal$/.test(command)) return shares[unsealed++] ?? "";
    if (/custodians drill$/.test(command)) return shares[2] ?? "";
    if (/^breakglass login$/.test(command)) return rootToken;
    if (/users add|--method userpass/.test(command)) return PASSWORD;
    if (/sso config/.test(command)) return idp.clientSecret;
    return "";
  }

  function start(command: string, exports: string[]): { child: ChildProcess; done: Promise<Run> } {
    const child = spawn("bash", ["-c", [...exports, command].join("\n")], {
      cwd: home,
      env: {
        PATH: `${shim}:${process.env.PATH ?? ""}`,
        HOME: home,
        BREAKGLASS_ADDR: server.url,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.stdin?.on("error", () => {}); // a command that prompts for nothing may exit before reading it
    child.stdin?.end(`${answerFor(command)}\n`);
    const done = new Promise<Run>((resolve) =>
      child.once("close", (code) => resolve({ code, stdout, stderr })),
    );
    return { child, done };
  }

  /** Starts a `--wait` and returns once it has asked for its approval (or ended). */
  async function leaveWaiting(command: string, exports: string[]): Promise<void> {
    let stderr = "";
    const { child, done } = start(command, exports);
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    let ended = false;
    done.then(() => (ended = true));
    while (!ended && !/waiting for approval (\S+?)…/.test(stderr))
      await new Promise((wait) => setTimeout(wait, 50));
    approvalId = /waiting for approval (\S+?)…/.exec(stderr)?.[1] ?? "";
    background.push({ command, done });
  }

  /** A sign-in with the provider: the person opens the printed URL, signs in, and the browser returns to the CLI. */
  async function signInThroughBrowser(command: string, exports: string[]): Promise<Run> {
    let stderr = "";
    const { child, done } = start(command, exports);
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    let ended = false;
    done.then(() => (ended = true));
    let url: string | undefined;
    while (!ended && !url) {
      url = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(stderr)?.[1];
      await new Promise((wait) => setTimeout(wait, 50));
    }
    if (url) {
      const back = await signInAtProvider(url, "frank", PASSWORD);
      back.hostname = "127.0.0.1";
      await fetch(back);
    }
    return done;
  }

  function remember(command: string, run: Run): void {
    if (!/operator init/.test(command)) return;
    shares.push(...[...run.stdout.matchAll(/^Unseal Key \d+ for \w+: (\S+)$/gm)].map((m) => m[1] as string));
    rootToken = /^Root Token: (\S+)$/m.exec(run.stdout)?.[1] ?? "";
  }

  const failure = (block: Block, command: string, run: Run) =>
    `README "${block.section}", block ${block.index}: \`${command}\` exited ${run.code}\n` +
    `stdout: ${run.stdout}\nstderr: ${run.stderr}`;

  it("every command of the sections succeeds, in order, against a fresh server", async () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const blocks = SECTIONS.flatMap((section) => shellBlocks(readme, section));
    for (const section of SECTIONS) expect(blocks.some((block) => block.section === section)).toBe(true);
    for (const block of blocks) {
      const exports: string[] = [];
      for (const line of block.commands) {
        const command = line.replace(/ ID(\s|$)/, ` ${approvalId}$1`).replaceAll(README_PROVIDER, idp.issuer);
        if (command.startsWith("export ")) exports.push(command);
        if (/ --wait\b/.test(command)) {
          await leaveWaiting(command, exports);
          continue;
        }
        const run = /--method oidc/.test(command)
          ? await signInThroughBrowser(command, exports)
          : await start(command, exports).done;
        expect(run.code, failure(block, command, run)).toBe(0);
        remember(command, run);
      }
    }
    for (const { command, done } of background) {
      const run = await done;
      expect(run.code, `README \`${command}\` (left waiting) exited ${run.code}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^\d{6} {2}\(valid for \d+s/);
    }
    expect(shares).toHaveLength(3);
  }, 180_000); // three sections of commands, each a new node process: under a full CI run this takes over 90 s
});
