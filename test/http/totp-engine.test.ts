import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { migrationUri } from "../support/google-export.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode, qrencodePng, tempDir, writeFile } from "../support/tools.js";

let t: TestServer;
let root: string;
const dir = tempDir();

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
});
afterAll(async () => {
  await t.close();
});

const post = (path: string, body: unknown) => t.call("POST", path, { token: root, body });
const get = (path: string) => t.call("GET", path, { token: root });

/** The served code must be oathtool's at the served step. */
async function expectOathtoolCode(
  name: string,
  seed: Buffer,
  algorithm: string,
  digits: number,
  period: number,
) {
  const response = await get(`/v1/totp/code/${name}`);
  expect(response.status).toBe(200);
  const data = response.json.data;
  expect(data).toMatchObject({ algorithm, digits, period });
  expect(data.code).toBe(
    oathtoolCode(seed.toString("hex"), { algorithm, digits, period, unixSeconds: data.valid_from }),
  );
  expect(data.valid_from % period).toBe(0);
  expect(data.expires_at).toBe(data.valid_from + period);
  expect(data.step).toBe(data.valid_from / period);
  expect(data.ttl).toBeGreaterThanOrEqual(0);
  expect(data.ttl).toBeLessThanOrEqual(period);
  return data;
}

describe("importing a seed", () => {
  it("from base32 and parameters gives oathtool's codes in every algorithm × digits × period", async () => {
    for (const algorithm of ["SHA1", "SHA256", "SHA512"]) {
      for (const digits of [6, 8]) {
        for (const period of [30, 60]) {
          const seed = randomBytes(20);
          const name = `k-${algorithm}-${digits}-${period}`.toLowerCase();
          const created = await post(`/v1/totp/keys/${name}`, {
            key: encodeBase32Upper(seed).toLowerCase(),
            issuer: "ACME",
            account_name: "root",
            algorithm,
            digits,
            period,
          });
          expect(created.status).toBe(204);
          await expectOathtoolCode(name, seed, algorithm, digits, period);
        }
      }
    }
  });

  it("from an otpauth URI keeps its issuer and account, and shows metadata without the seed", async () => {
    const seed = randomBytes(20);
    await post("/v1/totp/keys/registrar", {
      url: `otpauth://totp/Gandi:owner%40acme.example?secret=${encodeBase32Upper(seed)}&issuer=Gandi&digits=8`,
    });
    const metadata = await get("/v1/totp/keys/registrar");
    expect(metadata.json.data).toMatchObject({
      name: "registrar",
      issuer: "Gandi",
      account_name: "owner@acme.example",
      digits: 8,
      period: 30,
      algorithm: "SHA1",
    });
    expect(Object.keys(metadata.json.data)).not.toContain("key");
    await expectOathtoolCode("registrar", seed, "SHA1", 8, 30);
  });

  it("from a QR PNG made by qrencode gives oathtool's codes; a PNG without a QR code is refused", async () => {
    const seed = randomBytes(20);
    const png = qrencodePng(
      `otpauth://totp/AWS:root?secret=${encodeBase32Upper(seed)}&issuer=AWS&algorithm=SHA256`,
      dir,
    );
    expect(
      (await post("/v1/totp/keys/aws-qr", { qr_image: readFileSync(png).toString("base64") })).status,
    ).toBe(204);
    await expectOathtoolCode("aws-qr", seed, "SHA256", 6, 30);

    const blank = new PNG({ width: 120, height: 80 });
    blank.data.fill(200);
    const refused = await post("/v1/totp/keys/blank", { qr_image: PNG.sync.write(blank).toString("base64") });
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]).toBe("no QR code found in the image");
    expect((await get("/v1/totp/keys/blank")).status).toBe(404);
  });

  it("from a Google Authenticator export with 3 accounts creates 3 keys, also from its QR image", async () => {
    const seeds = [randomBytes(20), randomBytes(20), randomBytes(20)];
    const uri = migrationUri([
      { secret: seeds[0] as Buffer, name: "AWS:root@acme.example", issuer: "AWS" },
      { secret: seeds[1] as Buffer, name: "GitHub:acme-owner", issuer: "GitHub", digits: 2 },
      { secret: seeds[2] as Buffer, name: "bank-portal", issuer: "" },
    ]);
    const imported = await post("/v1/totp/import/google-authenticator", { url: uri, prefix: "ga-" });
    expect(imported.status).toBe(200);
    expect(imported.json.data.imported.map((k: { name: string }) => k.name)).toEqual([
      "ga-aws-root-acme.example",
      "ga-github-acme-owner",
      "ga-bank-portal",
    ]);
    await expectOathtoolCode("ga-github-acme-owner", seeds[1] as Buffer, "SHA1", 8, 30);

    const fromImage = await post("/v1/totp/import/google-authenticator", {
      qr_image: readFileSync(qrencodePng(uri, dir, "ga.png")).toString("base64"),
      prefix: "ga-",
    });
    expect(fromImage.json.data.imported.map((k: { name: string }) => k.name)).toEqual([
      "ga-aws-root-acme.example-2",
      "ga-github-acme-owner-2",
      "ga-bank-portal-2",
    ]);
    await expectOathtoolCode("ga-bank-portal-2", seeds[2] as Buffer, "SHA1", 6, 30);
  });

  it("takes Vault's forms: a period as a duration, the request's issuer for a URI that names none", async () => {
    const seed = randomBytes(20);
    const created = await post("/v1/totp/keys/vault-forms", {
      url: `otpauth://totp/root?secret=${encodeBase32Upper(seed)}&period=60`,
      issuer: "AWS",
    });
    expect(created.status).toBe(204);
    expect((await get("/v1/totp/keys/vault-forms")).json.data).toMatchObject({
      issuer: "AWS",
      account_name: "root",
      period: 60,
    });
    await post("/v1/totp/keys/vault-period", { key: encodeBase32Upper(seed), period: "1m" });
    await expectOathtoolCode("vault-period", seed, "SHA1", 6, 60);
    const refused = await post("/v1/totp/keys/vault-period-bad", {
      key: encodeBase32Upper(seed),
      period: "1 week",
    });
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]).toMatch(/^period must be/);
  });

  it("never overwrites an existing seed", async () => {
    const seed = randomBytes(20);
    await post("/v1/totp/keys/keep-me", { key: encodeBase32Upper(seed) });
    const again = await post("/v1/totp/keys/keep-me", { key: encodeBase32Upper(randomBytes(20)) });
    expect(again.status).toBe(409);
    await expectOathtoolCode("keep-me", seed, "SHA1", 6, 30);
  });
});

describe("generating a seed inside", () => {
  it("returns the URL and a QR barcode exactly once; zbarimg reads the barcode; codes match oathtool", async () => {
    const created = await post("/v1/totp/keys/generated", {
      generate: true,
      issuer: "AWS",
      account_name: "prod-root",
      algorithm: "SHA512",
      digits: 8,
    });
    expect(created.status).toBe(200);
    const { url, barcode } = created.json.data;
    const png = writeFile(dir, "barcode.png", Buffer.from(barcode, "base64"));
    expect(execFileSync("zbarimg", ["--quiet", "--raw", png], { encoding: "utf8" }).trim()).toBe(url);
    const secret = new URL(url).searchParams.get("secret") as string;
    // Python's base32 decoder, not ours, turns the URL's secret into bytes for oathtool.
    const python = "import base64,sys; s=sys.argv[1]; print(base64.b32decode(s + '=' * (-len(s) % 8)).hex())";
    const seedHex = execFileSync("python3", ["-c", python, secret], { encoding: "utf8" }).trim();
    await expectOathtoolCode("generated", Buffer.from(seedHex, "hex"), "SHA512", 8, 30);
    const metadata = await get("/v1/totp/keys/generated");
    expect(metadata.text).not.toContain(secret);
    expect(metadata.json.data.generated).toBe(true);
  });

  it("with exported=false returns nothing at all", async () => {
    const created = await post("/v1/totp/keys/generated-hidden", {
      generate: true,
      exported: false,
      issuer: "X",
      account_name: "y",
    });
    expect(created.status).toBe(204);
    expect(created.text).toBe("");
  });
});

describe("reading codes", () => {
  it("for enrolment adds the next code (oathtool's at the next step), audited as an enrolment", async () => {
    const seed = randomBytes(20);
    await post("/v1/totp/keys/enrol-me", { key: encodeBase32Upper(seed) });
    const response = await t.call("GET", "/v1/totp/code/enrol-me?enroll=true", {
      token: root,
      headers: { "X-Breakglass-Reason": "enable virtual MFA on AWS" },
    });
    const data = response.json.data;
    expect(data.next_code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: data.expires_at,
      }),
    );
    const entries = (await get("/v1/audit?target=totp/keys/enrol-me&action=totp.code.enroll")).json.data
      .entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      outcome: "allowed",
      reason: "enable virtual MFA on AWS",
      request_id: expect.any(String),
      details: { step: data.step },
    });
    expect((await get("/v1/totp/code/enrol-me")).json.data.next_code).toBeUndefined();
  });

  it("of an unknown key answers Vault's 400 'unknown key'", async () => {
    const response = await get("/v1/totp/code/nope");
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual(["unknown key: nope"]);
  });
});

describe("validating codes", () => {
  it("accepts the current code once, then refuses it; refuses a wrong code", async () => {
    const seed = randomBytes(20);
    await post("/v1/totp/keys/validate-me", { key: encodeBase32Upper(seed), skew: 0 });
    const code = oathtoolCode(seed.toString("hex"), {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: Math.floor(Date.now() / 1000),
    });
    const first = await post("/v1/totp/code/validate-me", { code });
    const second = await post("/v1/totp/code/validate-me", { code });
    // Across a step boundary the first may miss (skew 0); the second must never pass when the first did.
    if (first.json.data.valid) expect(second.json.data.valid).toBe(false);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect((await post("/v1/totp/code/validate-me", { code: wrong })).json.data.valid).toBe(false);
    expect((await post("/v1/totp/code/validate-me", { code: "12ab56" })).status).toBe(400);
  });
});

describe("listing and deleting", () => {
  it("lists names with ?list=true and deletes for good", async () => {
    await post("/v1/totp/keys/delete-me", { key: encodeBase32Upper(randomBytes(20)) });
    expect((await get("/v1/totp/keys?list=true")).json.data.keys).toContain("delete-me");
    expect((await t.call("DELETE", "/v1/totp/keys/delete-me", { token: root })).status).toBe(204);
    expect((await get("/v1/totp/keys?list=true")).json.data.keys).not.toContain("delete-me");
    expect((await get("/v1/totp/keys/delete-me")).status).toBe(404);
    expect((await get("/v1/totp/code/delete-me")).status).toBe(400);
  });

  it("answers 404 with an empty errors list when there are no keys, as Vault", async () => {
    const empty = await startTestServer();
    const { rootToken } = await initAndUnseal(empty, 1, 1);
    const response = await empty.call("GET", "/v1/totp/keys?list=true", { token: rootToken });
    await empty.close();
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ errors: [], code: "NOT_FOUND" });
  });
});

describe("tokens", () => {
  it("carry policies: a reader reads codes but cannot write keys or read the audit; denials are audited", async () => {
    await post("/v1/totp/keys/policy-key", { key: encodeBase32Upper(randomBytes(20)) });
    const created = await post("/v1/auth/token/create", {
      policies: ["totp-reader"],
      display_name: "oncall",
      ttl: "8h",
    });
    expect(created.status).toBe(200);
    const reader = created.json.auth.client_token;
    expect(created.json.auth).toMatchObject({
      policies: ["default", "totp-reader"],
      lease_duration: 28800,
      token_type: "service",
    });
    // Every token may look itself up, whatever its roles (Vault's default policy does the same).
    const self = await t.call("GET", "/v1/auth/token/lookup-self", {
      headers: { Authorization: `Bearer ${reader}` },
    });
    expect(self.status).toBe(200);
    expect(self.json.data).toMatchObject({
      display_name: "token-oncall",
      policies: ["default", "totp-reader"],
    });
    expect(self.text).not.toContain(reader);

    expect((await t.call("GET", "/v1/totp/code/policy-key", { token: reader })).status).toBe(200);
    expect(
      (
        await t.call("POST", "/v1/totp/keys/sneaky", {
          token: reader,
          body: { generate: true, issuer: "a", account_name: "b" },
        })
      ).status,
    ).toBe(403);
    expect((await t.call("GET", "/v1/audit", { token: reader })).status).toBe(403);
    const denied = (await get("/v1/audit?action=totp.key.write")).json.data.entries.filter(
      (e: { outcome: string }) => e.outcome === "denied",
    );
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      // Made by the root token, so the root token's line answers for it; the token itself beside it.
      actor: expect.stringMatching(/^token:/),
      token: created.json.auth.accessor,
      token_name: "token-oncall",
      target: "totp/keys/sneaky",
    });
  });

  it("revoke-self ends the token", async () => {
    const token = (await post("/v1/auth/token/create", { policies: ["default"] })).json.auth.client_token;
    expect((await t.call("POST", "/v1/auth/token/revoke-self", { token })).status).toBe(204);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).status).toBe(403);
  });

  it("are refused when missing, unknown or expired, and each refusal is audited", async () => {
    const before = (await get("/v1/audit?action=totp.code.read&limit=100000")).json.data.entries.length;
    expect((await t.call("GET", "/v1/totp/code/policy-key")).status).toBe(403);
    expect((await t.call("GET", "/v1/totp/code/policy-key", { token: "bgs.unknown" })).status).toBe(403);
    const after = (await get("/v1/audit?action=totp.code.read&limit=100000")).json.data.entries;
    expect(after.length - before).toBe(2);
    expect(after.at(-1)).toMatchObject({
      actor: "anonymous",
      outcome: "denied",
      details: { problem: "unknown or revoked token" },
    });
  });
});
