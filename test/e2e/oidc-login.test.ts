import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAtProvider, startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { callApi } from "../support/server.js";
import { Cli, freePort, initialisedServer, type ServerProcess } from "./cli-harness.js";

/**
 * `breakglass login --method oidc`, as `vault login -method=oidc`: the CLI listens on a loopback
 * port, prints the provider's URL (no browser here), and the provider's pages are driven over
 * HTTP as a browser would; the browser's return to the listener finishes the sign-in.
 */
describe("breakglass login --method oidc", () => {
  let server: ServerProcess;
  let idp: TestProvider;
  let port: number;

  beforeAll(async () => {
    let rootToken: string;
    ({ server, rootToken } = await initialisedServer());
    port = await freePort();
    idp = await startTestProvider({
      redirectUris: [`http://localhost:${port}/oidc/callback`],
      people: { "sub-dana": { username: "dana", password: "dana-pw", groups: ["sre"] } },
    });
    const write = (path: string, body: unknown) =>
      callApi(server.url, "PUT", path, { token: rootToken, body });
    expect((await write("/v1/groups/oncall", { members: [], policies: ["operator"] })).status).toBe(204);
    expect(
      (
        await write("/v1/auth/oidc/config", {
          oidc_discovery_url: idp.issuer,
          oidc_client_id: idp.clientId,
          oidc_client_secret: idp.clientSecret,
          default_role: "cli",
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await write("/v1/auth/oidc/role/cli", {
          user_claim: "preferred_username",
          groups_claim: "groups",
          // As Vault's CLI default: any loopback port matches (RFC 8252).
          allowed_redirect_uris: ["http://localhost:8250/oidc/callback"],
          oidc_scopes: ["profile", "groups", "offline_access"],
          create_users: true,
          group_mappings: { sre: "oncall" },
        })
      ).status,
    ).toBe(204);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
  });

  /** Runs the login; once the URL is printed, signs in at the provider and returns to the CLI's listener. */
  async function login(cli: Cli, username: string, password: string) {
    let browsed: Promise<{ status: number; page: string }> | undefined;
    const result = await cli.run(["login", "--method", "oidc", "--port", String(port), "--no-browser"], {
      onStderr: (stderr) => {
        const url = stderr.match(/https?:\/\/127\.0\.0\.1:\d+\/auth\?\S+/)?.[0];
        if (!url || browsed) return;
        browsed = (async () => {
          const back = await signInAtProvider(url, username, password);
          // The browser comes back to the CLI's listener (on 127.0.0.1).
          back.hostname = "127.0.0.1";
          const response = await fetch(back);
          return { status: response.status, page: await response.text() };
        })();
      },
    });
    return { result, browser: await browsed };
  }

  it("signs in through the provider's pages, saves the token, and the browser is told", async () => {
    const dana = new Cli({ BREAKGLASS_ADDR: server.url });
    const { result, browser } = await login(dana, "dana", "dana-pw");
    expect(result.stderr).toContain("Complete the sign-in: open this URL in a browser");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /Logged in as dana \(policies: .*operator.*\), token expires in 1h \(renewable\)/,
    );
    expect(browser).toMatchObject({
      status: 200,
      page: expect.stringContaining("Signed in to breakglass as dana"),
    });
    // The saved token is hers, from the provider.
    const saved = readFileSync(join(dana.home, ".config/breakglass/token"), "utf8").trim();
    const self = await callApi(server.url, "GET", "/v1/auth/token/lookup-self", { token: saved });
    expect(self.json.data).toMatchObject({ display_name: "oidc-dana", meta: { subject: "sub-dana" } });
  });

  it("exits 1 with the server's reason when the provider refuses, and saves nothing", async () => {
    const eve = new Cli({ BREAKGLASS_ADDR: server.url });
    (idp.people.get("sub-dana") as { disabled?: boolean }).disabled = true;
    let printed = "";
    const result = await eve.run(["login", "--method", "oidc", "--port", String(port), "--no-browser"], {
      onStderr: (stderr) => {
        const url = stderr.match(/https?:\/\/127\.0\.0\.1:\d+\/auth\?\S+/)?.[0];
        if (!url || printed) return;
        printed = url;
        // The person gives up at the provider: the provider sends the browser back with an error.
        const back = new URL(`http://127.0.0.1:${port}/oidc/callback`);
        back.searchParams.set("state", new URL(url).searchParams.get("state") as string);
        back.searchParams.set("error", "access_denied");
        void fetch(back);
      },
    });
    (idp.people.get("sub-dana") as { disabled?: boolean }).disabled = false;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the provider refused the sign-in: access_denied");
    expect(existsSync(join(eve.home, ".config/breakglass/token"))).toBe(false);
  });

  it("refuses a port already in use with a clear message", async () => {
    const busy = await import("node:http").then(({ createServer }) => createServer());
    await new Promise<void>((resolve) => busy.listen(port, "127.0.0.1", resolve));
    try {
      const result = await new Cli({ BREAKGLASS_ADDR: server.url }).run([
        "login",
        "--method",
        "oidc",
        "--port",
        String(port),
        "--no-browser",
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    } finally {
      busy.close();
    }
  });
});
