import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../support/server.js";
import { Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/**
 * "You'll know who did" (issue 14): everything alice does is on the audit log as user:alice,
 * through any of her tokens — her CLI login and a token she made for a script — and
 * `audit list --actor user:alice` finds it all.
 */
describe("audit list --actor user:NAME", () => {
  let server: ServerProcess;
  let root: Cli;
  let alice: Cli;
  const password = "alice has a long password for the CLI";

  beforeAll(async () => {
    ({ server, cli: root } = await initialisedServer());
    alice = new Cli({ BREAKGLASS_ADDR: server.url });
    await root.run(["totp", "add", "aws-prod-root", "--secret", "-"], { input: "JBSWY3DPEHPK3PXPJBSWY3DP" });
    await root.run(["groups", "set", "admins", "--policies", "admin"]);
    const added = await root.run(["users", "add", "alice", "--password", "-", "--groups", "admins"], {
      input: `${password}\n`,
    });
    expect(added.code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("lists alice's reads through her login and through a token she made, each naming the token", async () => {
    const login = await alice.run(["login", "--method", "userpass", "--username", "alice", "-"], {
      input: `${password}\n`,
    });
    expect(login.code).toBe(0);
    expect(
      (await alice.run(["totp", "code", "aws-prod-root", "--reason", "INC-1 from her login"])).code,
    ).toBe(0);
    const made = await callApi(server.url, "POST", "/v1/auth/token/create", {
      token: savedTokenOf(alice),
      body: { policies: ["totp-reader"], display_name: "alice-script" },
    });
    const script = new Cli({ BREAKGLASS_ADDR: server.url, BREAKGLASS_TOKEN: made.json.auth.client_token });
    expect(
      (await script.run(["totp", "code", "aws-prod-root", "--reason", "INC-2 from her script"])).code,
    ).toBe(0);

    const listed = await root.run(["audit", "list", "--actor", "user:alice", "--action", "totp.code.read"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /alice +totp\.code\.read {2}totp\/keys\/aws-prod-root {2}allowed {2}INC-1 from her login/,
    );
    expect(listed.stdout).toMatch(
      /alice +totp\.code\.read {2}totp\/keys\/aws-prod-root {2}allowed {2}INC-2 from her script/,
    );
    const entries = (
      await root.json(["audit", "list", "--actor", "user:alice", "--action", "totp.code.read"])
    ).entries as { token_name: string }[];
    // Newest first.
    expect(entries.map((entry) => entry.token_name)).toEqual(["token-alice-script", "userpass-alice"]);
  });
});

/** The token `breakglass login` saved for this CLI (mode 0600 in its own HOME). */
const savedTokenOf = (cli: Cli) =>
  readFileSync(join(cli.home, ".config", "breakglass", "token"), "utf8").trim();
