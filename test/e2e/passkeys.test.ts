import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/** An admin's reset of someone's lost passkeys, from the CLI (the ceremonies are test/ui/passkeys-webauthn.test.ts). */
describe("breakglass users reset-passkeys", () => {
  let server: ServerProcess;
  let root: Cli;
  let erin: Cli;
  const password = "erin keeps a long password";

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
    erin = new Cli({ BREAKGLASS_ADDR: server.url });
    expect(
      (await root.run(["users", "add", "erin", "--password", "-"], { input: `${password}\n` })).code,
    ).toBe(0);
    expect(
      (
        await erin.run(["login", "--method", "userpass", "--username", "erin", "-"], {
          input: `${password}\n`,
        })
      ).code,
    ).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is an admin's: it removes every passkey of the person, and says what they do next", async () => {
    expect((await erin.run(["users", "reset-passkeys", "erin"])).code).toBe(1); // not an admin
    expect(await root.run(["users", "reset-passkeys", "erin"])).toMatchObject({
      code: 0,
      stdout: "Passkeys of erin removed: they log in with their password and register new ones.\n",
    });
    expect((await root.run(["users", "reset-passkeys", "nobody"])).stderr).toContain("no user named nobody");
    const entries = await root.run(["--json", "audit", "list", "--action", "people.passkey.reset"]);
    expect(entries.code, entries.stderr).toBe(0);
    const listed: { target: string; outcome: string }[] =
      JSON.parse(entries.stdout).entries ?? JSON.parse(entries.stdout);
    expect(listed.map((e) => `${e.target} ${e.outcome}`)).toEqual(
      expect.arrayContaining(["user:erin allowed", "user:nobody failed"]),
    );
  });
});
