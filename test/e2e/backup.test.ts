import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { newTestStorage, serverStorageFlags } from "../support/storage.js";
import { oathtoolCode, tempDir, writeFile } from "../support/tools.js";
import {
  Cli,
  freePort,
  initialisedServer,
  type ServerProcess,
  type SpawnedServer,
  spawnServer,
  startServerProcess,
  unsealWith,
} from "./cli-harness.js";

describe("backups through the CLI", () => {
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];
  let work: string;
  let file: string;
  let keyFile: string;
  const seed = randomBytes(20);
  const restoredServers: ServerProcess[] = [];

  beforeAll(async () => {
    ({ server, cli, shares } = await initialisedServer({ shares: 3, threshold: 2 }));
    work = tempDir("breakglass-e2e-backup-");
    file = join(work, "vault.bgbackup");
    keyFile = writeFile(work, "audit.pem", (await cli.run(["audit", "public-key"])).stdout);
    const added = await cli.run(["totp", "add", "aws-prod-root", "--secret", "-"], {
      input: `${encodeBase32Upper(seed)}\n`,
    });
    expect(added.code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
    for (const restored of restoredServers) await restored.stop();
  });

  it("backup create --out writes the file, named only once whole, and prints its size, rows and sha256", async () => {
    const created = await cli.json(["backup", "create", "--out", file]);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(created.bytes).toBe(statSync(file).size);
    expect(created.sha256).toBe(execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]);
    expect(created.rows).toMatchObject({ totp_keys: 1, tokens: 1, custodians: 3 });
    expect(created).toMatchObject({ secret_shares: 3, secret_threshold: 2 });
    const human = await cli.run(["backup", "create", "--out", join(work, "second.bgbackup")]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Wrote .*second\.bgbackup: [\d.]+ MB \(\d+ bytes\), sha256 [0-9a-f]{64}$/m);
    expect(human.stdout).toMatch(/^ +totp_keys +1$/m);
  });

  it("refuses to overwrite an existing file unless --force", async () => {
    const before = readFileSync(file);
    const refused = await cli.run(["backup", "create", "--out", file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*vault\.bgbackup exists already: give --force to replace it\n$/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(
      (await cli.run(["backup", "create", "--out", join(work, "forced.bgbackup"), "--force"])).code,
    ).toBe(0);
  });

  it("backup verify checks the file offline: exit 0 when intact and signed by the key given", async () => {
    const verified = await cli.run(["backup", "verify", file, "--public-key", keyFile], {
      env: { BREAKGLASS_ADDR: "http://127.0.0.1:1" },
    });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/intact, signed by key [0-9a-f]{16} \(the key given\)/);
    expect(verified.stdout).toMatch(/opens with 2 of the 3 shares current then/);
    const json = await cli.json(["backup", "verify", file]);
    expect(json).toMatchObject({ verified: true, rows: { totp_keys: 1 } });
  });

  it("backup verify exits 1 with the reason after one byte is flipped, or with another vault's key", async () => {
    const damaged = readFileSync(file);
    const offset = damaged.length - 200;
    damaged.writeUInt8(damaged.readUInt8(offset) ^ 0x01, offset);
    const damagedFile = writeFile(work, "damaged.bgbackup", damaged);
    const result = await cli.run(["backup", "verify", damagedFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: backup is damaged: .+\n$/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const otherKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" });
    const wrongKey = await cli.run([
      "backup",
      "verify",
      file,
      "--public-key",
      writeFile(work, "x.pem", otherKey),
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^error: backup is signed by key [0-9a-f]{16}, not by the key given/);
    const missing = await cli.run(["backup", "verify", join(work, "nope.bgbackup")]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/cannot read backup .*no such file/),
    });
  });

  it("backup restore into a fresh server process; restarted, it says a restore waits; then the CLI unseals it with the backup's shares", async () => {
    const storage = await newTestStorage();
    const first = await startServerProcess(storage);
    restoredServers.push(first);
    const restored = await new Cli({ BREAKGLASS_ADDR: first.url }).run(["backup", "restore", file]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(
      "restored; the server is sealed: unseal it with the shares of the backup (2 of 3)\n",
    );
    await first.stop();
    const fresh = await startServerProcess(storage);
    restoredServers.push(fresh);
    expect(fresh.log()).toMatch(
      /listening on \S+ \(sealed; restore pending: unseal with the shares of the backup made \d{4}-\d\d-\d\dT[^)]+\)/,
    );
    const freshCli = new Cli({
      BREAKGLASS_ADDR: fresh.url,
      BREAKGLASS_TOKEN: cli.env.BREAKGLASS_TOKEN as string,
    });
    expect((await freshCli.json(["status"])).sealed).toBe(true);
    const again = await freshCli.run(["backup", "restore", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/restore needs an uninitialised server: this one is initialised/);

    await unsealWith(freshCli, [shares[2] as string, shares[0] as string]);
    expect((await freshCli.json(["status"])).sealed).toBe(false);
    const released = await freshCli.json(["totp", "code", "aws-prod-root"]);
    expect(released.code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: released.valid_from,
      }),
    );
    const verified = await freshCli.run(["audit", "verify", "--public-key", keyFile]);
    expect(verified.code).toBe(0);
  });

  it("a damaged file is refused by backup restore, and the server stays uninitialised", async () => {
    const fresh = await startServerProcess(await newTestStorage());
    restoredServers.push(fresh);
    const freshCli = new Cli({ BREAKGLASS_ADDR: fresh.url });
    const damaged = readFileSync(file);
    damaged.writeUInt8(damaged.readUInt8(100) ^ 0x40, 100);
    const result = await freshCli.run(["backup", "restore", writeFile(work, "damaged2.bgbackup", damaged)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: backup is damaged: .+\n$/);
    expect((await freshCli.json(["status"])).initialized).toBe(false);
  });
});

describe("scheduled backups (backup_dir, backup_interval_seconds, backup_keep)", () => {
  let server: SpawnedServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it("write a file every interval while unsealed and keep only the newest backup_keep of them", async () => {
    const dir = tempDir("breakglass-e2e-scheduled-");
    const backups = join(dir, "backups");
    const port = await freePort();
    const config = writeFile(
      dir,
      "breakglass.json",
      JSON.stringify({ backup_dir: "./backups", backup_interval_seconds: 1, backup_keep: 2 }),
    );
    const url = `http://127.0.0.1:${port}`;
    const storage = await newTestStorage();
    server = await spawnServer(
      ["--config", config, "--listen", `127.0.0.1:${port}`, ...serverStorageFlags(storage)],
      {
        url,
      },
    );
    const cli = new Cli({ BREAKGLASS_ADDR: url });
    // Sealed, a scheduled run writes nothing (there is no key to make a backup with), and says so once.
    const skipped = () => (server?.log().match(/scheduled backup skipped: sealed/g) ?? []).length;
    const sealedUntil = Date.now() + 20_000;
    while (skipped() === 0 && Date.now() < sealedUntil) await new Promise((wait) => setTimeout(wait, 100));
    expect(skipped()).toBe(1);
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
    const init = await cli.json(["operator", "init", "--shares", "1", "--threshold", "1"]);
    await unsealWith(cli, init.keys);
    const deadline = Date.now() + 20_000;
    while ((server.log().match(/scheduled backup written/g) ?? []).length < 4 && Date.now() < deadline)
      await new Promise((wait) => setTimeout(wait, 100));
    expect((server.log().match(/scheduled backup written/g) ?? []).length).toBeGreaterThanOrEqual(4);
    writeFile(backups, "notes.txt", "not a backup: left alone");
    await server.stop(); // waits for a backup being written
    server = undefined;
    const names = readdirSync(backups).sort();
    expect(names).toHaveLength(3);
    expect(names).toContain("notes.txt");
    const files = names.filter((name) => name.endsWith(".bgbackup"));
    expect(files).toHaveLength(2);
    for (const name of files) {
      expect(name).toMatch(/^breakglass-[0-9a-f-]{36}-\d{8}T\d{6}\.\d{3}Z\.bgbackup$/);
      expect((await cli.run(["backup", "verify", join(backups, name)])).code).toBe(0);
    }
  });
});
