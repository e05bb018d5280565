import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import jsQRModule from "jsqr";
import * as OTPAuth from "otpauth";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findSeedLeaks } from "../support/encodings.js";
import { storedBytes } from "../support/storage.js";
import { oathtoolCode, qrencodePng, tempDir, writeFile } from "../support/tools.js";
import { type Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

// jsqr is CommonJS whose typings claim an ES default export; at run time the module itself is the function.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;
const base32 = (seed: Buffer) => new OTPAuth.Secret({ buffer: Uint8Array.from(seed).buffer }).base32;

interface MigrationAccount {
  secret: Buffer;
  name: string;
  issuer: string;
  /** Google Authenticator's enums: algorithm 1 SHA1, 2 SHA256, 3 SHA512; digits 1 six, 2 eight; type 1 HOTP, 2 TOTP. */
  algorithm: number;
  digits: number;
  type: number;
}

/** A Google Authenticator "Transfer accounts" URI, encoded here with protobuf's wire format. */
function migrationUri(accounts: MigrationAccount[]): string {
  const writer = new BinaryWriter();
  for (const account of accounts) {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).bytes(account.secret);
    writer.tag(2, WireType.LengthDelimited).string(account.name);
    writer.tag(3, WireType.LengthDelimited).string(account.issuer);
    writer.tag(4, WireType.Varint).int32(account.algorithm);
    writer.tag(5, WireType.Varint).int32(account.digits);
    writer.tag(6, WireType.Varint).int32(account.type);
    writer.join();
  }
  writer.tag(2, WireType.Varint).int32(1);
  writer.tag(3, WireType.Varint).int32(1);
  writer.tag(4, WireType.Varint).int32(0);
  const data = Buffer.from(writer.finish()).toString("base64");
  return `otpauth-migration://offline?data=${encodeURIComponent(data)}`;
}

describe("TOTP keys through the CLI", () => {
  let server: ServerProcess;
  let cli: Cli;
  let work: string;
  /** Every seed handed to the server in this file: none may ever come back out. */
  const seeds: Buffer[] = [];
  const newSeed = () => {
    const seed = randomBytes(20);
    seeds.push(seed);
    return seed;
  };

  /** Reads a code through the CLI and checks it against oathtool at the step the server served. */
  async function expectOathtoolCode(
    name: string,
    seed: Buffer,
    params: { algorithm: string; digits: number; period: number },
  ) {
    const released = await cli.json(["totp", "code", name]);
    expect(released.code).toBe(
      oathtoolCode(seed.toString("hex"), { ...params, unixSeconds: released.valid_from }),
    );
    return released;
  }

  beforeAll(async () => {
    ({ server, cli } = await initialisedServer());
    work = tempDir("breakglass-e2e-files-");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("totp add --uri stores an otpauth URI's key and serves oathtool's codes, with its algorithm, digits and period", async () => {
    const seed = newSeed();
    const uri = `otpauth://totp/Example:alice%40example.com?secret=${base32(seed)}&issuer=Example&algorithm=SHA256&digits=8&period=60`;
    const added = await cli.run(["totp", "add", "uri-key", "--uri", uri]);
    expect(added).toMatchObject({ code: 0, stdout: "Key uri-key stored.\n" });
    const released = await expectOathtoolCode("uri-key", seed, {
      algorithm: "SHA256",
      digits: 8,
      period: 60,
    });
    expect(released).toMatchObject({ algorithm: "SHA256", digits: 8, period: 60 });
  });

  it("totp add --secret - reads the base32 seed from stdin and serves oathtool's codes", async () => {
    const seed = newSeed();
    const added = await cli.run(["totp", "add", "stdin-key", "--secret", "-", "--issuer", "Acme"], {
      input: `${base32(seed)}\n`,
    });
    expect(added.code).toBe(0);
    await expectOathtoolCode("stdin-key", seed, { algorithm: "SHA1", digits: 6, period: 30 });
  });

  it("totp add --qr reads the key from a PNG made by qrencode and serves oathtool's codes", async () => {
    const seed = newSeed();
    const png = qrencodePng(
      `otpauth://totp/QR%20Co:carol?secret=${base32(seed)}&issuer=QR%20Co&algorithm=SHA512`,
      work,
    );
    expect((await cli.run(["totp", "add", "qr-key", "--qr", png])).code).toBe(0);
    await expectOathtoolCode("qr-key", seed, { algorithm: "SHA512", digits: 6, period: 30 });
  });

  it("totp code --enroll adds next_code: oathtool's code for the following step", async () => {
    const seed = newSeed();
    await cli.run(["totp", "add", "enrol-key", "--secret", "-"], { input: base32(seed) });
    const released = await cli.json(["totp", "code", "enrol-key", "--enroll"]);
    const params = { algorithm: "SHA1", digits: 6, period: 30 };
    const hex = seed.toString("hex");
    expect(released.code).toBe(oathtoolCode(hex, { ...params, unixSeconds: released.valid_from }));
    expect(released.next_code).toBe(oathtoolCode(hex, { ...params, unixSeconds: released.valid_from + 30 }));
  });

  it("totp code prints the code and its remaining validity by the server's clock, and the next code with --enroll", async () => {
    const stepEnd = (ms: number) => (Math.floor(ms / 30_000) + 1) * 30_000;
    const before = Date.now();
    const result = await cli.run(["totp", "code", "enrol-key", "--enroll", "--reason", "e2e check"]);
    const after = Date.now();
    expect(result.code).toBe(0);
    const match = result.stdout.match(
      /^\d{6} {2}\(valid for (\d+)s, until (\d\d:\d\d:\d\d) \S+\)\nnext: \d{6} {2}\(valid from \2 \S+ until \d\d:\d\d:\d\d \S+\)\n$/,
    );
    expect(match, result.stdout).not.toBeNull();
    // The step served is the one current at some moment during the call: its end is one of these.
    const ends = [stepEnd(before), stepEnd(after)];
    const shown = ends.find((end) => new Date(end).toTimeString().slice(0, 8) === match?.[2]);
    expect(shown, `until ${match?.[2]}`).toBeDefined();
    expect(Math.abs(Number(match?.[1]) - ((shown as number) - after) / 1000)).toBeLessThanOrEqual(2);
  });

  it("totp add --qr refuses a PNG without a QR code: exit 1, 'no QR code'", async () => {
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    const file = writeFile(work, "blank.png", PNG.sync.write(blank));
    const result = await cli.run(["totp", "add", "blank-key", "--qr", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*no QR code.*\n$/);
  });

  it("totp generate --qr-out writes the enrolment QR once, to a new 0600 PNG, and the key serves that seed's codes", async () => {
    const file = join(work, "enrol.png");
    const enrolment = await cli.json([
      "totp",
      "generate",
      "made-here",
      "--issuer",
      "Acme",
      "--account",
      "ops",
      "--qr-out",
      file,
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const png = PNG.sync.read(readFileSync(file));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data).toBe(enrolment.url);
    const generated = OTPAuth.URI.parse(enrolment.url);
    expect(generated).toMatchObject({ issuer: "Acme", label: "ops" });
    await expectOathtoolCode("made-here", Buffer.from(generated.secret.bytes), {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
    });
  });

  it("totp generate refuses an existing --qr-out file before any seed is made", async () => {
    const file = writeFile(work, "taken.png", "someone's file");
    const result = await cli.run([
      "totp",
      "generate",
      "never-made",
      "--issuer",
      "A",
      "--account",
      "b",
      "--qr-out",
      file,
    ]);
    expect(result).toMatchObject({ code: 1, stderr: `error: cannot write ${file}: it already exists\n` });
    expect(readFileSync(file, "utf8")).toBe("someone's file");
    expect((await cli.json(["totp", "list"])).keys).not.toContain("never-made");
  });

  it("totp generate shows the enrolment QR code in the terminal and says it is shown this once", async () => {
    const result = await cli.runInTerminal([
      "totp",
      "generate",
      "shown-here",
      "--issuer",
      "Acme",
      "--account",
      "dev",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/only time its seed leaves the server/);
    expect(result.stdout).toMatch(/[▀▄█]{7}/);
    expect(result.stdout).toMatch(/^Or enter this URI by hand: otpauth:\/\/totp\/Acme:dev\?/m);
  });

  describe("import-google-authenticator", () => {
    const accounts: MigrationAccount[] = [];
    let uri: string;
    beforeAll(() => {
      accounts.push(
        {
          secret: newSeed(),
          name: "GitHub:alice@example.com",
          issuer: "GitHub",
          algorithm: 1,
          digits: 1,
          type: 2,
        },
        { secret: newSeed(), name: "root@acme.example", issuer: "AWS", algorithm: 2, digits: 2, type: 2 },
        { secret: newSeed(), name: "bob", issuer: "", algorithm: 1, digits: 1, type: 2 },
        { secret: newSeed(), name: "counter", issuer: "Legacy", algorithm: 1, digits: 1, type: 1 },
      );
      uri = migrationUri(accounts);
    });

    it("imports every TOTP account of an otpauth-migration URI, names each, and says why HOTP was skipped", async () => {
      const human = await cli.run(["totp", "import-google-authenticator", uri, "--prefix", "human-"]);
      expect(human.code).toBe(0);
      expect(human.stdout.match(/^Imported human-/gm)).toHaveLength(3);
      expect(human.stdout).toMatch(/^Skipped Legacy:counter: .*HOTP/m);

      const summary = await cli.json(["totp", "import-google-authenticator", uri, "--prefix", "ga-"]);
      expect(summary.imported).toHaveLength(3);
      expect(summary.skipped).toEqual([{ label: "Legacy:counter", why: expect.stringContaining("HOTP") }]);
      const names: string[] = summary.imported.map((key: { name: string }) => key.name);
      const { keys } = await cli.json(["totp", "list"]);
      expect(keys).toEqual(expect.arrayContaining(names));

      const aws = summary.imported.findIndex((key: { issuer: string }) => key.issuer === "AWS");
      await expectOathtoolCode(names[aws] as string, accounts[1]?.secret as Buffer, {
        algorithm: "SHA256",
        digits: 8,
        period: 30,
      });
      const github = summary.imported.findIndex((key: { issuer: string }) => key.issuer === "GitHub");
      await expectOathtoolCode(names[github] as string, accounts[0]?.secret as Buffer, {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
      });
    });

    it("imports the same export from a QR PNG made by qrencode", async () => {
      const png = qrencodePng(uri, work, "migration.png");
      const summary = await cli.json(["totp", "import-google-authenticator", png, "--prefix", "qr-"]);
      expect(summary.imported).toHaveLength(3);
      const bob = summary.imported.find((key: { account_name: string }) => key.account_name === "bob");
      expect(bob.name).toMatch(/^qr-/);
      await expectOathtoolCode(bob.name, accounts[2]?.secret as Buffer, {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
      });
    });
  });

  it("totp show, list and delete: metadata without the seed, then the key is gone", async () => {
    const shown = await cli.json(["totp", "show", "uri-key"]);
    expect(shown).toMatchObject({
      name: "uri-key",
      issuer: "Example",
      algorithm: "SHA256",
      digits: 8,
      period: 60,
    });
    expect((await cli.run(["totp", "delete", "uri-key"])).stdout).toBe("Key uri-key deleted.\n");
    expect((await cli.json(["totp", "list"])).keys).not.toContain("uri-key");
    const gone = await cli.run(["totp", "code", "uri-key"]);
    expect(gone.code).toBe(1);
  });

  // Last on purpose: it inspects everything the tests above printed, logged and stored.
  it("no seed appears in any CLI output, the server log, or anything stored (data directory files or database dump)", async () => {
    expect(seeds.length).toBeGreaterThanOrEqual(8);
    const places = [
      { where: "CLI output", content: cli.transcript.join("\n") },
      { where: "server log", content: server.log() },
      ...storedBytes(server.storage),
    ];
    // On SQLite the write-ahead log is searched too, where recent writes sit before a checkpoint.
    if (server.storage.engine === "sqlite")
      expect(places.some((place) => place.where.endsWith("-wal"))).toBe(true);
    expect(findSeedLeaks(seeds, places)).toEqual([]);
  });
});
