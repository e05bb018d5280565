import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oathtoolCode } from "../support/tools.js";
import { Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/** A person enrols their own second factor from the CLI and logs in with it; an admin resets it. */
describe("breakglass mfa enrol | confirm, and login --totp", () => {
  let server: ServerProcess;
  let root: Cli;
  let erin: Cli;
  const password = "erin keeps a long password";
  let seedHex: string;

  const login = (totp?: string) =>
    erin.run(
      ["login", "--method", "userpass", "--username", "erin", ...(totp ? ["--totp", totp] : []), "-"],
      { input: `${password}\n` },
    );

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
    erin = new Cli({ BREAKGLASS_ADDR: server.url });
    expect(
      (await root.run(["users", "add", "erin", "--password", "-"], { input: `${password}\n` })).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("enrols: the QR is shown once, and a code confirms it", async () => {
    expect((await login()).code).toBe(0);
    const enrolled = await erin.run(["mfa", "enrol"]);
    expect(enrolled.code).toBe(0);
    expect(enrolled.stdout).toContain("shown only this once");
    const url = enrolled.stdout.match(/otpauth:\/\/\S+/)?.[0] as string;
    const secret = new URL(url).searchParams.get("secret") as string;
    const python = "import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + '=' * (-len(s) % 8)).hex())";
    seedHex = execFileSync("python3", ["-c", python, secret], { encoding: "utf8" }).trim();
    expect((await erin.run(["mfa", "confirm", "12"])).code).toBe(2);
    const code = oathtoolCode(seedHex, {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: Math.floor(Date.now() / 1000),
    });
    expect(await erin.run(["mfa", "confirm", code])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("Second factor enabled"),
    });
  });

  it("then a login needs --totp: without it, refused like a wrong password; with the next code, logged in", async () => {
    const without = await login();
    expect(without.code).toBe(1);
    expect(without.stderr).toContain("invalid username or password");
    const next = oathtoolCode(seedHex, {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: Math.floor(Date.now() / 1000) + 30,
    });
    const withCode = await login(next);
    expect(withCode.code).toBe(0);
    expect(withCode.stdout).toContain("Logged in as erin");
  });

  it("an admin's users reset-mfa removes it: erin logs in without --totp, and may enrol again", async () => {
    expect((await erin.run(["users", "reset-mfa", "erin"])).code).toBe(1); // not an admin
    expect(await root.run(["users", "reset-mfa", "erin"])).toMatchObject({
      code: 0,
      stdout: "Second factor of erin reset: they log in without one until they enrol a new one.\n",
    });
    expect((await root.run(["users", "reset-mfa", "nobody"])).stderr).toContain("no user named nobody");
    expect((await login()).code).toBe(0);
    expect((await erin.run(["mfa", "enrol"])).code).toBe(0);
  });
});
