import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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
    expect(server.log()).toContain(`listening on ${url} (sealed, not initialized)`);
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
});
