import { randomBytes } from "node:crypto";
import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * An existing Vault client library (node-vault), unchanged, against breakglass: the ceremony,
 * the TOTP engine and tokens work as they would against Vault. Its `list` sends the LIST verb,
 * which Node cannot receive; `noCustomHTTPVerbs` makes it send GET ?list=1, as Vault also accepts.
 */

let t: TestServer;
let vault: any;
let rootToken: string;

beforeAll(async () => {
  t = await startTestServer();
  vault = nodeVault({ endpoint: t.server.url, apiVersion: "v1", noCustomHTTPVerbs: true });
});
afterAll(async () => {
  await t.close();
});

describe("a Vault client library", () => {
  it("initialises, reads the seal status, unseals and checks health", async () => {
    expect(await vault.initialized()).toEqual({ initialized: false });
    const init = await vault.init({ secret_shares: 3, secret_threshold: 2 });
    rootToken = init.root_token;
    vault.token = rootToken;
    expect(await vault.status()).toMatchObject({ sealed: true, t: 2, n: 3, progress: 0 });
    expect(await vault.unseal({ key: init.keys[0] })).toMatchObject({ sealed: true, progress: 1 });
    expect(await vault.unseal({ key: init.keys_base64[2] })).toMatchObject({ sealed: false });
    expect(await vault.health()).toMatchObject({ initialized: true, sealed: false, standby: false });
  });

  it("writes a TOTP key, lists it, reads its code (oathtool's) and validates one", async () => {
    const seed = randomBytes(20);
    await vault.write("totp/keys/aws-prod-root", {
      url: `otpauth://totp/AWS:root?secret=${encodeBase32Upper(seed)}&issuer=AWS`,
    });
    expect((await vault.list("totp/keys")).data.keys).toEqual(["aws-prod-root"]);
    expect((await vault.read("totp/keys/aws-prod-root")).data).toMatchObject({
      issuer: "AWS",
      account_name: "root",
      digits: 6,
      period: 30,
    });
    const code = (await vault.read("totp/code/aws-prod-root")).data;
    expect(code.code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: code.valid_from,
      }),
    );
    const other = String((Number(code.code) + 1) % 1_000_000).padStart(6, "0");
    expect((await vault.write("totp/code/aws-prod-root", { code: other })).data).toEqual({ valid: false });
  });

  it("creates and looks up tokens, sees errors as Vault's, and seals", async () => {
    const created = await vault.tokenCreate({ policies: ["totp-reader", "default"], ttl: "1h" });
    vault.token = rootToken; // node-vault switches to a token it creates, as it does against Vault
    const reader = nodeVault({ endpoint: t.server.url, token: created.auth.client_token });
    expect((await reader.tokenLookupSelf()).data).toMatchObject({ policies: ["default", "totp-reader"] });
    await expect(
      reader.write("totp/keys/nope", { generate: true, issuer: "a", account_name: "b" }),
    ).rejects.toMatchObject({
      response: { statusCode: 403 },
      message: "permission denied",
    });
    await vault.seal();
    expect(await vault.status()).toMatchObject({ sealed: true });
    await expect(vault.read("totp/code/aws-prod-root")).rejects.toMatchObject({
      response: { statusCode: 503 },
      message: "Vault is sealed",
    });
  });
});
