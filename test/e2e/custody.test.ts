import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { type GpgHome, makeGpgKey, tempDir, writeFile } from "../support/tools.js";
import { type Cli, initialisedServer, type ServerProcess } from "./cli-harness.js";

/** The custody ceremonies from the CLI, as custodians run them: shares piped from stdin or gpg -d. */
describe("custody ceremonies from the CLI", () => {
  let server: ServerProcess;
  let cli: Cli;
  let shares: string[];
  let rootToken: string;
  let custodians: GpgHome[];
  let keyFiles: string[];
  const seed = randomBytes(20);

  beforeAll(async () => {
    ({ server, cli, shares, rootToken } = await initialisedServer({ shares: 5, threshold: 3 }));
    custodians = ["ana", "bo"].map((name) => makeGpgKey(name));
    const dir = tempDir("breakglass-e2e-custody-");
    keyFiles = custodians.map((custodian, i) => writeFile(dir, `${i}.asc`, custodian.armoredPublicKey));
    const added = await cli.run([
      "totp",
      "add",
      "bank",
      "--uri",
      `otpauth://totp/Bank:ops?secret=${encodeBase32Upper(seed)}`,
    ]);
    expect(added.code).toBe(0);
  });
  /** Starts a rekey to 2 of 2 shares, encrypted to the two custodians' keys. */
  const rekeyToCustodians = () =>
    cli.json([
      "operator",
      "rekey",
      "init",
      "--shares",
      "2",
      "--threshold",
      "2",
      "--pgp-keys",
      keyFiles.join(","),
    ]);

  afterAll(async () => {
    await server?.stop();
    for (const custodian of custodians ?? []) custodian.dispose();
  });

  it("drill names the custodian; a made-up share exits 1 with a message", async () => {
    const drill = await cli.run(["custodians", "drill", "-"], { input: `${shares[1]}\n` });
    expect(drill.code).toBe(0);
    expect(drill.stdout).toMatch(/share 2 of this vault, held by custodian 2/);
    expect(drill.stdout).toMatch(/WARNING \(bus factor\): only 1 of 5/);
    const bad = await cli.run(["custodians", "drill", "-"], { input: `${"ab".repeat(33)}\n` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/does not belong to this vault/);
    expect(bad.stderr).not.toMatch(/at .*\.js/);
    const listed = await cli.json(["custodians", "list"]);
    expect(listed.custodians[1].last_verified).toEqual(expect.any(String));
  });

  it("submit shows who started the attempt and what it makes, and gives no share without the announced nonce", async () => {
    const started = await rekeyToCustodians();
    const status = await cli.run(["operator", "rekey", "status"]);
    expect(status.stdout).toMatch(/Started by\s+token:\S+ \(root\)/);
    expect(status.stdout).toMatch(/From\s+127\.0\.0\.1/);
    expect(status.stdout).toMatch(
      /New custodians\s+ana <ana@custodians\.example>, bo <bo@custodians\.example>/,
    );
    const encryptedTo = status.stdout.match(/Encrypted to\s+(.+)/)?.[1]?.split(", ");
    expect(encryptedTo?.map((f) => f.toUpperCase())).toEqual(custodians.map((c) => c.fingerprint));

    const withoutNonce = await cli.run(["operator", "rekey", "submit", "-"], { input: shares[0] });
    expect(withoutNonce.code).toBe(2);
    expect(withoutNonce.stderr).toMatch(/--nonce/);
    const otherNonce = await cli.run(
      ["operator", "rekey", "submit", "--nonce", "0b8f1c9e-aaaa-4bbb-8ccc-123456789abc", "-"],
      { input: shares[0] },
    );
    expect(otherNonce.code).toBe(1);
    expect(otherNonce.stderr).toMatch(/not the attempt you were asked to join/);
    expect(otherNonce.stderr).toMatch(/Started by\s+token:/); // the details were shown first
    expect((await cli.json(["operator", "rekey", "status"])).progress).toBe(0);
    expect(started.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect((await cli.run(["operator", "rekey", "cancel"])).code).toBe(0);
  });

  it("generate-root: init prints the pad, three submits return the encoded token, decode gives a working root token", async () => {
    const started = await cli.json(["operator", "generate-root", "init"]);
    const submit = ["operator", "generate-root", "submit", "--nonce", started.nonce];
    for (const share of shares.slice(0, 2)) {
      const partial = await cli.run([...submit, "-"], { input: share });
      expect(partial.stdout).toMatch(/Progress: \d\/3/);
    }
    const done = await cli.json([...submit, shares[4] as string]);
    expect(done.complete).toBe(true);
    const decoded = await cli.json([
      "operator",
      "generate-root",
      "decode",
      done.encoded_token,
      "--otp",
      started.otp,
    ]);
    expect(decoded.token).not.toBe(rootToken);
    const read = await cli.run(["totp", "code", "bank"], { env: { BREAKGLASS_TOKEN: decoded.token } });
    expect(read.code, read.stderr).toBe(0);
  });

  it("export-seed: the last share writes the message to --out, and gpg -d gives the otpauth URI", async () => {
    const started = await cli.json([
      "operator",
      "export-seed",
      "init",
      "bank",
      "--pgp-key",
      keyFiles[0] as string,
    ]);
    expect(started.name).toBe("bank");
    const status = await cli.run(["operator", "export-seed", "status"]);
    expect(status.stdout).toMatch(/Credential\s+bank/);
    const submit = ["operator", "export-seed", "submit", "--nonce", started.nonce];
    for (const share of shares.slice(1, 3)) await cli.run([...submit, "-"], { input: share });
    const out = join(tempDir("breakglass-e2e-seed-"), "bank.asc");
    const done = await cli.run([...submit, "-", "--out", out], { input: shares[3] });
    expect(done.code, done.stderr).toBe(0);
    const uri = custodians[0]?.decrypt(readFileSync(out)) as string;
    expect(new URL(uri).searchParams.get("secret")).toBe(encodeBase32Upper(seed).replace(/=+$/, ""));
  });

  it("rekey to 2 of 2 encrypted to the custodians' keys: the decrypted new shares unseal, the old ones exit 1", async () => {
    const started = await rekeyToCustodians();
    const submit = ["operator", "rekey", "submit", "--nonce", started.nonce];
    for (const share of shares.slice(0, 2)) await cli.run([...submit, "-"], { input: share });
    const done = await cli.json([...submit, shares[2] as string]);
    expect(done.custodians).toEqual([expect.stringMatching(/^ana /), expect.stringMatching(/^bo /)]);
    const newShares = done.keys_base64.map((b64: string, i: number) =>
      custodians[i]?.decrypt(Buffer.from(b64, "base64")),
    );
    expect((await cli.run(["operator", "seal"])).code).toBe(0);
    const old = await cli.run(["operator", "unseal", "-"], { input: shares[0] });
    expect(old.code).toBe(0); // progress 1 of 2: not refused until a pair is tried
    const refused = await cli.run(["operator", "unseal", "-"], { input: shares[1] });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/do not combine/);
    for (const share of newShares) await cli.run(["operator", "unseal", "-"], { input: share });
    expect((await cli.json(["status"])).sealed).toBe(false);
    const drill = await cli.run(["custodians", "drill", "-"], { input: newShares[1] });
    expect(drill.stdout).toMatch(/held by bo /);
  });
});
