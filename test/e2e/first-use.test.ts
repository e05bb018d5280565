import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/cli/client.js";
import { describeCode } from "../../src/cli/commands/totp-code.js";
import { busFactorOf } from "../../src/core/custody.js";
import { newTestStorage } from "../support/storage.js";
import { tempDir } from "../support/tools.js";
import {
  Cli,
  freePort,
  initialisedServer,
  REPO,
  type ServerProcess,
  spawnServer,
  startServerProcess,
} from "./cli-harness.js";

/** What a new user meets first (issue 18): errors that name CLI commands, a server that says what to do next. */

const PASSWORD = "correct horse battery staple";

describe("the CLI's refusals name CLI commands, in one line", () => {
  let server: ServerProcess;
  let root: Cli;
  let alice: Cli;

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
    alice = new Cli({ BREAKGLASS_ADDR: server.url });
    for (const args of [
      ["totp", "add", "aws-prod-root", "--secret", "-"],
      ["totp", "add", "unshared", "--secret", "-"],
    ])
      expect((await root.run(args, { input: "JBSWY3DPEHPK3PXP\n" })).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("groups set NAME alone creates an empty group; given nothing for an existing one, says how to change it", async () => {
    expect(await root.run(["groups", "set", "oncall"])).toMatchObject({
      code: 0,
      stdout: "Group oncall created.\n",
    });
    expect(await root.json(["groups", "show", "oncall"])).toMatchObject({ members: [], policies: [] });
    const again = await root.run(["groups", "set", "oncall"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--members, --policies/);
  });

  it("users add into a missing group fails before reading the password, naming the command that makes it", async () => {
    // stdin holds the password: it must not have been read (the old CLI read it, then failed).
    const result = await root.run(["users", "add", "dave", "--groups", "nope"], { input: `${PASSWORD}\n` });
    expect(result).toMatchObject({
      code: 1,
      stdout: "",
      stderr: 'error: no group named nope: create it first with "breakglass groups set nope"\n',
    });
  });

  it("a reason refusal is one line: the server's neutral words, then the flag to give", async () => {
    expect(
      (await root.run(["users", "add", "alice", "--groups", "oncall"], { input: `${PASSWORD}\n` })).code,
    ).toBe(0);
    expect(
      (await root.run(["access", "set", "aws-prod-root", "--readers", "group:oncall", "--require-reason"]))
        .code,
    ).toBe(0);
    const file = join(alice.home, "alice.token");
    const login = await alice.run(["login", "--method", "userpass", "--username", "alice", "-"], {
      input: `${PASSWORD}\n`,
      env: { BREAKGLASS_TOKEN_FILE: file },
    });
    expect(login.code).toBe(0);
    const code = await alice.run(["totp", "code", "aws-prod-root"], { env: { BREAKGLASS_TOKEN_FILE: file } });
    expect(code).toMatchObject({
      code: 1,
      stderr: 'error: a reason is required to read this credential — give --reason "…"\n',
    });
    const debug = await alice.run(["totp", "code", "aws-prod-root", "--debug"], {
      env: { BREAKGLASS_TOKEN_FILE: file },
    });
    expect(debug.stderr).toContain("HTTP status: 400");
  });

  it("BREAKGLASS_TOKEN_FILE is where login saves (0600) and every command reads; the default file is untouched", async () => {
    const file = join(alice.home, "alice.token");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(join(alice.home, ".config", "breakglass", "token"))).toBe(false);
    const without = await alice.run(["totp", "list"]);
    expect(without.stderr).toMatch(/^error: permission denied — log in first: breakglass login/);
  });

  it("a member who reads through an access rule lists what they may read, and only that", async () => {
    const list = await alice.run(["totp", "list"], {
      env: { BREAKGLASS_TOKEN_FILE: join(alice.home, "alice.token") },
    });
    expect(list).toMatchObject({ code: 0, stdout: "aws-prod-root\n" });
    expect(await root.run(["totp", "list"])).toMatchObject({ code: 0, stdout: "aws-prod-root\nunshared\n" });
    // Her list asked for what she may read, not the engine's LIST: no refusal on the audit log.
    const refused = await root.json(["audit", "list", "--action", "totp.key.list", "--outcome", "denied"]);
    expect(refused.entries).toEqual([]);
    const every = await alice.run(["totp", "list", "--all"], {
      env: { BREAKGLASS_TOKEN_FILE: join(alice.home, "alice.token") },
    });
    expect(every).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: permission denied/) });
  });

  it("a password piped twice is refused, not taken as a two-line password; nothing is created", async () => {
    const added = await root.run(["users", "add", "twice", "--groups", "oncall"], {
      input: "pw one\npw one\n",
    });
    expect(added).toMatchObject({ code: 1 });
    expect(added.stderr).toBe(
      "error: the password given holds more than one line: give it once, on one line\n",
    );
    expect((await root.run(["users", "show", "twice"])).code).toBe(1);
  });

  it("audit list --outcome takes only what an entry can say, in the CLI's words", async () => {
    const bad = await root.run(["audit", "list", "--outcome", "bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--outcome");
    expect(bad.stderr).not.toContain("querystring");
  });

  it("totp generate into a pipe draws no QR (colour escapes), and says how to get one", async () => {
    const result = await root.run(["totp", "generate", "bank", "--issuer", "Bank", "--account", "treasury"]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("\u001b");
    expect(result.stdout).toContain("--qr-out FILE");
    expect(result.stdout).toMatch(/^Or enter this URI by hand: otpauth:\/\/totp\//m);
  });

  it("totp code with under 5 s left also shows the next code; --fresh shows only a code from a new step", async () => {
    // A 4-second step always has under 5 s left.
    const add = ["totp", "add", "short", "--secret", "-", "--period", "4"];
    expect((await root.run(add, { input: "JBSWY3DPEHPK3PXP\n" })).code).toBe(0);
    const both = await root.run(["totp", "code", "short"]);
    expect(both.code).toBe(0);
    expect(both.stdout).toMatch(
      /^\d{6} {2}\(valid for \ds, until .+\)\nnext: \d{6} {2}\(valid from .+ until .+\)\n$/,
    );
    const fresh = await root.run(["totp", "code", "short", "--fresh"]);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^\d{6} {2}\(valid for \ds, until [^\n]+\)\n$/);
  });

  it("status of a server not initialised says so and what to run, not 'Threshold 0 of 0'", async () => {
    const fresh = await startServerProcess(await newTestStorage());
    try {
      const status = await new Cli({ BREAKGLASS_ADDR: fresh.url }).run(["status"]);
      expect(status.stdout).not.toContain("0 of 0");
      expect(status.stdout).toMatch(/^Threshold +not initialised: run breakglass operator init$/m);
      // The server said the same on start, with the web UI's address.
      expect(fresh.log()).toContain(`next: initialise it (the key ceremony): BREAKGLASS_ADDR=${fresh.url}`);
      expect(fresh.log()).toContain(`breakglass operator init`);
      expect(fresh.log()).toContain(`web UI: ${fresh.url}/ui/`);
    } finally {
      await fresh.stop();
    }
  });
});

describe("the server on start", () => {
  it("exits 1 when its port is taken, rather than running on without listening", async () => {
    const first = await startServerProcess(await newTestStorage());
    try {
      const child = spawn(
        process.execPath,
        [join(REPO, "bin", "breakglass"), "server", "--listen", new URL(first.url).host, "--data", tempDir()],
        { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "" } },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const code = await new Promise((done) => child.once("exit", done));
      expect(code).toBe(1);
      expect(stderr).toContain("the address is in use");
    } finally {
      await first.stop();
    }
  });

  it("--dev prints the export lines for its address and token, and no bus-factor arithmetic", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dev = await spawnServer(["--dev", "--listen", `127.0.0.1:${port}`], { url });
    try {
      expect(dev.log()).toContain(`export BREAKGLASS_ADDR=${url}\n`);
      expect(dev.log()).toMatch(/export BREAKGLASS_TOKEN=\S+/);
      const status = await new Cli({ BREAKGLASS_ADDR: url }).run(["status"]);
      expect(status.stdout).not.toMatch(/threshold 1 \+ 1|at least 1 should/);
    } finally {
      await dev.stop();
    }
  });
});

describe("pure parts", () => {
  it("the CLI adds what to run by the refusal's code, after the server's neutral message", () => {
    const refusal = (status: number, code: string, message: string) =>
      ApiError.of({ status, body: { errors: [message], code }, text: "" }, "a-token").message;
    expect(refusal(403, "SECOND_FACTOR_REQUIRED", "permission denied: enable your second factor first")).toBe(
      "permission denied: enable your second factor first — enrol one: breakglass mfa enrol, then breakglass mfa confirm CODE",
    );
    expect(refusal(400, "NOT_INITIALIZED", "Vault is not initialized")).toBe(
      "Vault is not initialized — initialise it: breakglass operator init",
    );
    expect(refusal(400, "BAD_INPUT", "no group named oncall: create the group first")).toBe(
      "no group named oncall: create the group first",
    );
  });

  it("with no spare share, the bus-factor warning does not ask for more custodians than exist", () => {
    const { warning } = busFactorOf([{ lastVerified: null }], 1, 90, new Date());
    expect(warning).toMatch(/^only 0 of 1 custodians proved their share in the last 90 days; /);
    expect(warning).not.toMatch(/at least 1 should|\+ 1/);
    expect(busFactorOf([{ lastVerified: null }, { lastVerified: null }], 1, 90, new Date()).warning).toMatch(
      /at least 2 should \(one more than the threshold of 1\)/,
    );
  });

  it("a code shown with its next says which is which and when each is valid, with the time zone", () => {
    const now = Date.UTC(2026, 11, 7, 14, 20, 28);
    const lines = describeCode(
      {
        code: "123456",
        next_code: "654321",
        period: 30,
        digits: 6,
        algorithm: "SHA1",
        step: 0,
        valid_from: now / 1000 - 28,
        expires_at: now / 1000 + 2,
        ttl: 2,
      },
      0,
      now,
    );
    const zone = new Intl.DateTimeFormat("en-GB", { timeZoneName: "short" })
      .formatToParts(now)
      .find((part) => part.type === "timeZoneName")?.value;
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^123456 {2}\\(valid for 2s, until \\d\\d:\\d\\d:30 ${zone}\\)$`));
    expect(lines[1]).toMatch(
      new RegExp(
        `^next: 654321 {2}\\(valid from \\d\\d:\\d\\d:30 ${zone} until \\d\\d:\\d\\d:00 ${zone}\\)$`,
      ),
    );
  });
});
