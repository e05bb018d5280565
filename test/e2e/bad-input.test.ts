import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTestStorage } from "../support/storage.js";
import { tempDir } from "../support/tools.js";
import {
  Cli,
  type CliResult,
  freePort,
  type ServerProcess,
  startServerProcess,
  unsealWith,
} from "./cli-harness.js";

/** A clear one-line message, never a stack trace. */
function expectOneLineError(result: CliResult, exitCode: number, message: RegExp) {
  expect(result.code).toBe(exitCode);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
}

describe("bad input on the command line", () => {
  let nowhere: Cli;
  beforeAll(async () => {
    nowhere = new Cli({ BREAKGLASS_ADDR: `http://127.0.0.1:${await freePort()}` });
  });

  it("an unknown command or option is a usage error: exit 2", async () => {
    expectOneLineError(await nowhere.run(["frobnicate"]), 2, /unknown command 'frobnicate'/);
    expectOneLineError(await nowhere.run(["status", "--frobnicate"]), 2, /unknown option '--frobnicate'/);
    expectOneLineError(
      await nowhere.run(["operator", "init", "--shares", "three"]),
      2,
      /--shares.*whole number/,
    );
  });

  it("totp add without exactly one of --uri, --secret, --qr is a usage error: exit 2", async () => {
    expectOneLineError(await nowhere.run(["totp", "add", "x"]), 2, /exactly one of --uri, --secret, --qr/);
    expectOneLineError(
      await nowhere.run(["totp", "add", "x", "--uri", "-", "--qr", "a.png"]),
      2,
      /exactly one of --uri, --secret, --qr/,
    );
  });

  it("a server that does not answer is named with its address: exit 1", async () => {
    const result = await nowhere.run(["status"]);
    expectOneLineError(
      result,
      1,
      /^error: cannot reach breakglass at http:\/\/127\.0\.0\.1:\d+ \(is "breakglass server" running\?\)\n$/,
    );
  });

  it("--debug adds the stack trace that is otherwise never shown", async () => {
    const result = await nowhere.run(["status", "--debug"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^\s+at /m);
  });

  it("server --database that is not a PostgreSQL URL is refused: exit 2", async () => {
    const result = await nowhere.run(["server", "--database", "mysql://db.example/breakglass"]);
    expectOneLineError(result, 2, /--database must be a PostgreSQL URL/);
  });

  it("server --database pointing at nothing fails with a clear message: exit 1", async () => {
    const result = await nowhere.run([
      "server",
      "--listen",
      "127.0.0.1:1",
      "--database",
      "postgres://postgres@127.0.0.1:1/none",
    ]);
    expectOneLineError(result, 1, /cannot use the database/);
  });

  it("server --listen without a port, or on a public address without TLS, is refused: exit 2", async () => {
    expectOneLineError(
      await nowhere.run(["server", "--listen", "localhost"]),
      2,
      /--listen must be HOST:PORT/,
    );
    expectOneLineError(
      await nowhere.run(["server", "--listen", "0.0.0.0:0", "--data", tempDir()]),
      2,
      /refusing to listen on 0\.0\.0\.0 without TLS/,
    );
  });

  it("audit verify --file with a file that is not there: exit 1 naming the file", async () => {
    const result = await nowhere.run(["audit", "verify", "--file", "/nonexistent/audit.jsonl"]);
    expectOneLineError(
      result,
      1,
      /^error: cannot read audit export \/nonexistent\/audit\.jsonl: no such file/,
    );
  });
});

describe("bad input sent to a server", () => {
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];

  beforeAll(async () => {
    server = await startServerProcess(await newTestStorage());
    cli = new Cli({ BREAKGLASS_ADDR: server.url });
    const init = await cli.json(["operator", "init", "--shares", "2", "--threshold", "2"]);
    shares = init.keys;
    cli.env.BREAKGLASS_TOKEN = init.root_token;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("operator unseal with a garbage share: exit 1, a clear message, and no progress made", async () => {
    const garbage = await cli.run(["operator", "unseal", "-"], { input: "this is no share!\n" });
    expectOneLineError(garbage, 1, /^error: key is neither hex nor base64\n$/);
    const wrongLength = await cli.run(["operator", "unseal", "abcdef"]);
    expectOneLineError(wrongLength, 1, /^error: key is not a share of this vault.*\n$/);
    expect((await cli.json(["status"])).progress).toBe(0);
  });

  it("operator unseal with nothing on stdin: exit 1, 'no unseal key share given'", async () => {
    expectOneLineError(await cli.run(["operator", "unseal"], { input: "" }), 1, /no unseal key share given/);
  });

  it("totp add --secret - with text that is not base32: exit 1, a message naming base32, nothing stored", async () => {
    await unsealWith(cli, shares);
    const result = await cli.run(["totp", "add", "x", "--secret", "-"], { input: "not base32!!\n" });
    expectOneLineError(result, 1, /^error: the secret \(base32\) is not valid base32.*\n$/);
    expect((await cli.run(["totp", "list"])).stdout).toBe("No keys.\n");
  });

  it("totp add --uri with a URI that is not otpauth: exit 1, a clear message", async () => {
    const result = await cli.run(["totp", "add", "x", "--uri", "https://example.com/?secret=JBSWY3DP"]);
    expectOneLineError(result, 1, /^error: the otpauth URI must start with otpauth:\/\/\n$/);
  });

  it("a token the server does not know is refused: exit 1, one line", async () => {
    const result = await cli.run(["totp", "list"], { env: { BREAKGLASS_TOKEN: "bgs.forged" } });
    expectOneLineError(result, 1, /^error: .*\n$/);
  });
});
