import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { callApi } from "../support/server.js";
import { tempDir, writeFile } from "../support/tools.js";
import { freePort, type SpawnedServer, spawnServer } from "./cli-harness.js";

describe("breakglass server settings: flags, then environment, then config file, then defaults", () => {
  let server: SpawnedServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("--config sets listen and data, with the data directory relative to the config file", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({ listen: `127.0.0.1:${port}`, data: "./vault" }),
    );
    const url = `http://127.0.0.1:${port}`;
    server = await spawnServer(["--config", config], { url });
    expect(server.log()).toContain(`listening on ${url} (sealed, not initialised)`);
    expect(existsSync(join(dir, "vault", "breakglass.sqlite"))).toBe(true);
  });

  it("BREAKGLASS_LISTEN overrides the config file's listen", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const [filePort, envPort] = [await freePort(), await freePort()];
    const config = writeFile(dir, "breakglass.json", JSON.stringify({ listen: `127.0.0.1:${filePort}` }));
    const url = `http://127.0.0.1:${envPort}`;
    server = await spawnServer([], {
      url,
      cwd: dir,
      env: {
        BREAKGLASS_CONFIG: config,
        BREAKGLASS_LISTEN: `127.0.0.1:${envPort}`,
        BREAKGLASS_DATA: join(dir, "d"),
      },
    });
    expect(server.log()).toContain(`listening on ${url}`);
  });

  it("a config file with an unknown key is refused as a usage error: exit 2", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const config = writeFile(dir, "breakglass.json", JSON.stringify({ listne: "127.0.0.1:1" }));
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(spawnServer(["--config", config], { url, cwd: dir })).rejects.toThrow(
      /exited with 2:[\s\S]*unknown key listne/,
    );
  });

  it("audit_checkpoint_seconds makes a quiet server sign its chain that often", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({ listen: `127.0.0.1:${port}`, data: "./vault", audit_checkpoint_seconds: 1 }),
    );
    const url = `http://127.0.0.1:${port}`;
    server = await spawnServer(["--config", config], { url });
    const init = await callApi(url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 1, secret_threshold: 1 },
    });
    await callApi(url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    // Audit entries committed, from the metrics (reading the audit log would add entries of its own).
    const committed = async () =>
      Number(
        /^breakglass_audit_transaction_entries_sum (\d+)$/m.exec(
          (await callApi(url, "GET", "/metrics")).text,
        )?.[1],
      );
    const unsealed = await committed();
    // A quiet server commits nothing more until its checkpoint.
    await expect.poll(committed, { timeout: 10_000, interval: 50 }).toBeGreaterThan(unsealed);
    const actions = (
      await callApi(url, "GET", "/v1/audit", { token: init.json.root_token })
    ).json.data.entries.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 3)).toEqual(["sys.init", "sys.unseal", "audit.checkpoint"]);
  });

  it("a checkpoint interval that is not a whole number of seconds is refused: exit 2", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const config = writeFile(dir, "breakglass.json", JSON.stringify({ audit_checkpoint_seconds: 0.5 }));
    const url = `http://127.0.0.1:${await freePort()}`;
    await expect(spawnServer(["--config", config], { url, cwd: dir })).rejects.toThrow(
      /exited with 2:[\s\S]*audit_checkpoint_seconds must be a whole number from 1 to 3600/,
    );
  });

  it("login_ttl_seconds sets how long a userpass login lasts", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({ listen: `127.0.0.1:${port}`, data: "./vault", login_ttl_seconds: 600 }),
    );
    const url = `http://127.0.0.1:${port}`;
    server = await spawnServer(["--config", config], { url });
    const init = await callApi(url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 1, secret_threshold: 1 },
    });
    await callApi(url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    const password = "a long enough password";
    await callApi(url, "PUT", "/v1/auth/userpass/users/alice", {
      token: init.json.root_token,
      body: { password },
    });
    const login = await callApi(url, "POST", "/v1/auth/userpass/login/alice", { body: { password } });
    expect(login.json.auth.lease_duration).toBe(600);
  });

  it("passkey_origin names the passkeys' relying party: its host, whatever Host a request names", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({
        listen: `127.0.0.1:${port}`,
        data: "./vault",
        passkey_origin: "https://breakglass.example.com",
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    server = await spawnServer(["--config", config], { url });
    const init = await callApi(url, "PUT", "/v1/sys/init", {
      body: { secret_shares: 1, secret_threshold: 1 },
    });
    await callApi(url, "PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    const options = await callApi(url, "POST", "/v1/auth/passkey/login/begin", {
      body: { username: "alice" },
    });
    expect(options.status).toBe(200);
    expect(options.json.data.rpId).toBe("breakglass.example.com");
  });

  it("rate_limits sets a group's requests a minute: with shares 1, a second unseal is refused with 429", async () => {
    const dir = tempDir("breakglass-e2e-config-");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({ listen: `127.0.0.1:${port}`, data: "./vault", rate_limits: { shares: 1 } }),
    );
    const url = `http://127.0.0.1:${port}`;
    server = await spawnServer(["--config", config], { url });
    const unseal = () => callApi(url, "PUT", "/v1/sys/unseal", { body: { key: "00" } });
    expect((await unseal()).status).toBe(400);
    expect((await unseal()).status).toBe(429);
  });

  it.each([
    [
      { rate_limits: 100 },
      /rate_limits must be an object of requests a minute by group \(shares, ceremonies/,
    ],
    [{ rate_limits: { logins: 5 } }, /rate_limits: unknown group logins \(known: shares, ceremonies, login/],
    [
      { rate_limits: { login: 0 } },
      /rate_limits.login must be a whole number of requests a minute from 1 to 1000000/,
    ],
    [{ rate_limits: { login: "many" } }, /rate_limits.login must be a whole number/],
    [{ tls_min_version: "tls11" }, /tls_min_version must be one of tls12, tls13/],
    [{ tls_min_version: "tls13" }, /tls_min_version needs a certificate and key/],
    [{ tls_cert: "missing.pem", tls_key: "missing.key" }, /cannot read --tls-cert \S+missing.pem: ENOENT/],
    [{ shutdown_timeout_seconds: 0 }, /shutdown_timeout_seconds must be a whole number from 1 to 3600/],
    [{ delivery_max_attempts: 0 }, /delivery_max_attempts must be a whole number from 1 to 1000/],
    [{ delivery_warn_after_seconds: 5 }, /delivery_warn_after_seconds must be a whole number from 10/],
    [{ node_name: "web 1/x" }, /node_name must be 1-64 letters, digits/],
    [
      { passkey_origin: "http://breakglass.example.com" },
      /passkey_origin must be the web UI's origin: https:\/\/HOST/,
    ],
    [{ passkey_origin: "https://breakglass.example.com/ui/" }, /passkey_origin must be the web UI's origin/],
    [{ passkey_origin: 443 }, /passkey_origin must be a string/],
  ])("%j is refused at start with one clear line: exit 2", async (settings, message) => {
    const dir = tempDir("breakglass-e2e-config-");
    const config = writeFile(dir, "breakglass.json", JSON.stringify({ data: "./vault", ...settings }));
    const url = `http://127.0.0.1:${await freePort()}`;
    const refusal = await spawnServer(["--config", config], { url, cwd: dir }).catch((error: Error) => error);
    expect(refusal).toBeInstanceOf(Error);
    const output = (refusal as Error).message;
    expect(output).toMatch(/exited with 2:/);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });
});
