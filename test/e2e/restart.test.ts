import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oathtoolCode } from "../support/tools.js";
import {
  type Cli,
  initialisedServer,
  type ServerProcess,
  startServerProcess,
  unsealWith,
} from "./cli-harness.js";

describe("a server restarted on the same data directory", () => {
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];
  let rootToken: string;
  const seed = randomBytes(20);

  beforeAll(async () => {
    ({ server, cli, shares, rootToken } = await initialisedServer());
    const base32 = new OTPAuth.Secret({ buffer: Uint8Array.from(seed).buffer }).base32;
    for (const name of ["aws-root", "gcp-root"])
      expect((await cli.run(["totp", "add", name, "--secret", "-"], { input: base32 })).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("login checks the token and saves it 0600 in the config directory, without printing it", async () => {
    const login = await cli.run(["login", "-"], { input: `${rootToken}\n`, env: { BREAKGLASS_TOKEN: "" } });
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/^Logged in as root \(policies: root\)\./);
    expect(login.stdout + login.stderr).not.toContain(rootToken);
    const tokenFile = join(cli.home, ".config", "breakglass", "token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(cli.home, ".config", "breakglass")).mode & 0o777).toBe(0o700);
  });

  it("login refuses a token the server does not know, and keeps the saved one", async () => {
    const login = await cli.run(["login", "-"], {
      input: "bgs.not-a-real-token",
      env: { BREAKGLASS_TOKEN: "" },
    });
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/^error: [^\n]*\n$/);
    expect((await cli.run(["totp", "list"], { env: { BREAKGLASS_TOKEN: "" } })).code).toBe(0);
  });

  it("SIGTERM stops the server with exit 0, and it comes back sealed", async () => {
    expect(await server.stop()).toBe(0);
    server = await startServerProcess(server.storage);
    cli.env.BREAKGLASS_ADDR = server.url;
    expect(server.log()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ \(sealed\)/);
    const status = await cli.run(["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^Sealed +true$/m);
  });

  it("totp code on the sealed server fails with exit 1 and says it is sealed", async () => {
    const result = await cli.run(["totp", "code", "aws-root"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: Vault is sealed — custodians unseal it: breakglass operator unseal\n$/,
    );
  });

  it("after unsealing with the shares the keys are there, their codes right, and the old tokens still work", async () => {
    await unsealWith(cli, [shares[2] as string, shares[0] as string]);
    const { keys } = await cli.json(["totp", "list"]);
    expect(keys).toEqual(["aws-root", "gcp-root"]);
    const released = await cli.json(["totp", "code", "gcp-root"]);
    const params = { algorithm: "SHA1", digits: 6, period: 30, unixSeconds: released.valid_from };
    expect(released.code).toBe(oathtoolCode(seed.toString("hex"), params));
    const withSavedToken = await cli.run(["totp", "list"], { env: { BREAKGLASS_TOKEN: "" } });
    expect(withSavedToken).toMatchObject({ code: 0, stdout: "aws-root\ngcp-root\n" });
  });
});
