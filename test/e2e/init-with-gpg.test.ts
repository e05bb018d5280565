import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTestStorage } from "../support/storage.js";
import { type GpgHome, makeGpgKey, tempDir, writeFile } from "../support/tools.js";
import { Cli, type ServerProcess, startServerProcess } from "./cli-harness.js";

describe("initialising with custodians' GnuPG keys, and unsealing with what they decrypt", () => {
  let server: ServerProcess;
  let cli: Cli;
  let custodians: GpgHome[];
  let keyFiles: string[];
  let encryptedShares: Buffer[];
  let rootToken: string;

  beforeAll(async () => {
    server = await startServerProcess(await newTestStorage());
    cli = new Cli({ BREAKGLASS_ADDR: server.url });
    custodians = ["ada", "brian", "chen"].map((name) => makeGpgKey(name));
    const dir = tempDir("breakglass-e2e-keys-");
    keyFiles = custodians.map((custodian, i) =>
      writeFile(dir, `${"abc"[i]}.asc`, custodian.armoredPublicKey),
    );
  });
  afterAll(async () => {
    await server?.stop();
    for (const custodian of custodians ?? []) custodian.dispose();
  });

  it("status on a new server says it is not initialised and sealed", async () => {
    const status = await cli.json(["status"]);
    expect(status).toMatchObject({ initialized: false, sealed: true });
  });

  it("operator init --pgp-keys returns one share per key, each decryptable by its custodian's gpg alone", async () => {
    const init = await cli.json([
      "operator",
      "init",
      "--shares",
      "3",
      "--threshold",
      "2",
      "--pgp-keys",
      keyFiles.join(","),
    ]);
    expect(init.keys_base64).toHaveLength(3);
    rootToken = init.root_token;
    expect(rootToken).toEqual(expect.any(String));
    encryptedShares = init.keys_base64.map((share: string) => Buffer.from(share, "base64"));
    for (const [i, custodian] of custodians.entries())
      expect(custodian.decrypt(encryptedShares[i] as Buffer)).toMatch(/^[0-9a-f]{66}$/);
    expect(() => custodians[1]?.decrypt(encryptedShares[0] as Buffer)).toThrow();
  });

  it("two shares as gpg -d prints them, piped to operator unseal -, unseal the server", async () => {
    const first = custodians[0]?.decrypt(encryptedShares[0] as Buffer) as string;
    const third = custodians[2]?.decrypt(encryptedShares[2] as Buffer) as string;
    const progress = await cli.run(["operator", "unseal", "-"], { input: first });
    expect(progress).toMatchObject({ code: 0, stdout: "Unseal progress: 1/2\n" });
    const unsealed = await cli.run(["operator", "unseal", "-"], { input: `${third}\n` });
    expect(unsealed).toMatchObject({ code: 0, stdout: "Unsealed.\n" });

    const status = await cli.run(["status"]);
    expect(status.stdout).toMatch(/^Initialized +true$/m);
    expect(status.stdout).toMatch(/^Sealed +false$/m);
    expect(status.stdout).toMatch(/^Threshold +2 of 3$/m);
  });

  it("operator seal needs a token, and with the root token seals the server again", async () => {
    const refused = await cli.run(["operator", "seal"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      "error: permission denied — log in first: breakglass login (or set BREAKGLASS_TOKEN or BREAKGLASS_TOKEN_FILE)\n",
    );
    const sealed = await cli.run(["operator", "seal"], { env: { BREAKGLASS_TOKEN: rootToken } });
    expect(sealed).toMatchObject({ code: 0, stdout: "Sealed.\n" });
    expect((await cli.json(["status"])).sealed).toBe(true);
  });
});
