import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import Vault from "hashi-vault-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper, hexOfBase32 } from "../support/encodings.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { oathtoolCode, tempDir, writeFile } from "../support/tools.js";

/**
 * A second Vault client library, hashi-vault-js, unchanged, against breakglass, from the key
 * ceremony to the seal. Its own methods wherever it has one; where it has none (sys/init and the
 * TOTP engine's list, code, validate and delete), its own axios instance — the same base URL,
 * headers and agent its methods use — and the test's name says so.
 *
 * Its methods answer `data.auth`, else `data.data`, else the body, else `{status, statusText}`
 * (a 204), and throw the axios error, with `isVaultError`, for any status but 2xx.
 */

let t: TestServer;
let vault: Vault;
/** The client's own request path (its axios instance), for what it has no method for. */
interface RequestPath {
  get(url: string, config?: object): Promise<{ status: number; data: any }>;
  put(url: string, body: unknown, config?: object): Promise<{ status: number; data: any }>;
  post(url: string, body: unknown, config?: object): Promise<{ status: number; data: any }>;
  delete(url: string, config?: object): Promise<{ status: number; data: any }>;
}
let client: RequestPath;
let shares: { keys: string[]; keys_base64: string[]; root_token: string };
let root: string;
let readerToken: string;
const dir = tempDir();
const seed = randomBytes(20);
/** The generated key's URL, as the client gave it back. */
let generatedUrl: string;

beforeAll(async () => {
  t = await startTestServer();
  // Its default timeout (1 s) is for a warm Vault next door; this machine's 2 cores run other tests too.
  vault = new Vault({ baseUrl: `${t.server.url}/v1`, timeout: 30_000 });
  client = vault.instance as RequestPath;
});
afterAll(async () => {
  await t.close();
});

const withToken = (token: string) => ({ headers: { "X-Vault-Token": token } });

/** The status of the error a client method threw (it throws for any status but 2xx). */
async function refusal(call: PromiseLike<unknown>): Promise<number | undefined> {
  try {
    await call;
  } catch (error: any) {
    expect(error.isVaultError).toBe(true);
    return error.response.status;
  }
  throw new Error("the call succeeded");
}

/** The current code of a hex seed, by oathtool (an independent implementation), for validation. */
function oathtoolNow(seedHex: string): string {
  return oathtoolCode(seedHex, {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000),
  });
}

describe("hashi-vault-js, a second Vault client library", () => {
  it("healthCheck: an uninitialised server answers 501, as Vault's", async () => {
    expect(await refusal(vault.healthCheck())).toBe(501);
  });

  it("init, 3 shares, threshold 2 (no init method: its axios instance, PUT sys/init)", async () => {
    const init = await client.put("/sys/init", { secret_shares: 3, secret_threshold: 2 });
    expect(init.status).toBe(200);
    shares = init.data;
    expect(shares.keys).toHaveLength(3);
    expect(shares.keys_base64).toHaveLength(3);
    expect(shares.root_token).toMatch(/^bgs\./);
    root = shares.root_token;
  });

  it("sealStatus: sealed, threshold 2 of 3, no progress", async () => {
    expect(await vault.sealStatus()).toMatchObject({
      type: "shamir",
      initialized: true,
      sealed: true,
      t: 2,
      n: 3,
      progress: 0,
    });
  });

  it("sysUnseal twice (a hex share, then a base64 one): progress 1, then unsealed", async () => {
    expect(await vault.sysUnseal(root, shares.keys[0] as string, false, false)).toMatchObject({
      sealed: true,
      t: 2,
      n: 3,
      progress: 1,
    });
    expect(await vault.sysUnseal(root, shares.keys_base64[2] as string, false, false)).toMatchObject({
      sealed: false,
      t: 2,
      n: 3,
      progress: 0,
    });
  });

  it("healthCheck and sealStatus after the unseal: initialised, unsealed, active", async () => {
    expect(await vault.healthCheck()).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(await vault.sealStatus()).toMatchObject({ initialized: true, sealed: false });
    // Its params go to the query string, as Vault's health overrides do.
    expect(await vault.healthCheck({ activecode: 200 })).toMatchObject({ sealed: false });
  });

  it("createToken with policies totp-reader (sent as it sends them: renewable, type service) and lookupSelfToken with the new token", async () => {
    const auth: any = await vault.createToken(root, { policies: "totp-reader", ttl: "1h" });
    expect(auth.client_token).toMatch(/^bgs\./);
    expect(auth.accessor).toEqual(expect.any(String));
    expect(auth.lease_duration).toBe(3600);
    readerToken = auth.client_token;
    const self: any = await vault.lookupSelfToken(readerToken);
    expect(self).toMatchObject({ accessor: auth.accessor, ttl: expect.any(Number) });
    expect(self.policies).toContain("totp-reader");
    expect(self.policies).not.toContain("root");
  });

  it("createToken without no_default_policy adds the default policy, as Vault does", async () => {
    const auth: any = await vault.createToken(root, { policies: "totp-reader" });
    expect(auth.policies).toEqual(["default", "totp-reader"]);
    expect(((await vault.lookupSelfToken(auth.client_token)) as any).policies).toEqual([
      "default",
      "totp-reader",
    ]);
  });

  it("createTOTPKey from an otpauth URL (generate: false, key_url): 204, and readTOTPKey gives the URL's issuer and account", async () => {
    // The client also sends its defaults issuer "vault" and account_name "vault": the URL's win, as in Vault.
    const created = await vault.createTOTPKey(root, "aws-prod-root", {
      generate: false,
      key_url: `otpauth://totp/AWS:root?secret=${encodeBase32Upper(seed)}&issuer=AWS`,
    });
    expect(created).toEqual({ status: 204, statusText: "No Content" });
    // Vault's five fields; breakglass adds name, skew, generated, created_at, created_by.
    expect(await vault.readTOTPKey(root, "aws-prod-root")).toMatchObject({
      issuer: "AWS",
      account_name: "root",
      algorithm: "SHA1",
      digits: 6,
      period: 30,
    });
  });

  it("createTOTPKey with key_url and the client's default generate: true is refused with 400, as Vault refuses a url with generate", async () => {
    const url = `otpauth://totp/AWS:other?secret=${encodeBase32Upper(randomBytes(20))}&issuer=AWS`;
    expect(await refusal(vault.createTOTPKey(root, "url-with-generate", { key_url: url } as any))).toBe(400);
    expect(await refusal(vault.readTOTPKey(root, "url-with-generate"))).toBe(404);
  });

  // Skipped until src takes key names with @ (being fixed); today 400 "key name must be 1-128 characters: …".
  it("createTOTPKey and readTOTPKey under a key name with @, which Vault's name pattern allows", async () => {
    const url = `otpauth://totp/Acme:root?secret=${encodeBase32Upper(randomBytes(20))}&issuer=Acme`;
    await vault.createTOTPKey(root, "root@acme.example", { generate: false, key_url: url });
    expect(await vault.readTOTPKey(root, "root@acme.example")).toMatchObject({ account_name: "root" });
    await client.delete("/totp/keys/root@acme.example", withToken(root));
  });

  it("createTOTPKey with generate: the url and barcode come back; zbarimg reads the url off the barcode PNG", async () => {
    // gr_size is the client's own spelling of qr_size: an unknown field, ignored as Vault ignores it.
    const created: any = await vault.createTOTPKey(root, "bank-portal", {
      generate: true,
      issuer: "Bank",
      account_name: "treasury",
      gr_size: 300,
    });
    expect(Object.keys(created).sort()).toEqual(["barcode", "url"]);
    generatedUrl = created.url;
    const url = new URL(generatedUrl);
    expect(url.protocol).toBe("otpauth:");
    expect(url.host).toBe("totp");
    expect(decodeURIComponent(url.pathname)).toBe("/Bank:treasury");
    expect(url.searchParams.get("issuer")).toBe("Bank");
    expect(url.searchParams.get("secret")).toMatch(/^[A-Z2-7]+=*$/);
    const png = writeFile(dir, "barcode.png", Buffer.from(created.barcode, "base64"));
    expect(execFileSync("zbarimg", ["--quiet", "--raw", png], { encoding: "utf8" }).trim()).toBe(
      generatedUrl,
    );
    expect(await vault.readTOTPKey(root, "bank-portal")).toMatchObject({
      issuer: "Bank",
      account_name: "treasury",
      algorithm: "SHA1",
      digits: 6,
      period: 30,
    });
  });

  it("readTOTPKey with the totp-reader token it created", async () => {
    expect(await vault.readTOTPKey(readerToken, "aws-prod-root")).toMatchObject({ issuer: "AWS" });
  });

  it("list keys (no list method: its axios instance, GET totp/keys?list=true)", async () => {
    const listed = await client.get("/totp/keys", { params: { list: true }, ...withToken(root) });
    expect(listed.data.data.keys).toEqual(["aws-prod-root", "bank-portal"]);
  });

  it("read a code (no code method: its axios instance, GET totp/code/:name): oathtool's at the served step", async () => {
    const read = await client.get("/totp/code/aws-prod-root", withToken(root));
    const { code, valid_from } = read.data.data;
    expect(code).toBe(
      oathtoolCode(seed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: valid_from,
      }),
    );
  });

  it("validate a code (no validate method: its axios instance, POST totp/code/:name): oathtool's from the generated url is valid, another is not", async () => {
    const seedHex = hexOfBase32(new URL(generatedUrl).searchParams.get("secret") as string);
    const code = oathtoolNow(seedHex);
    const valid = await client.post("/totp/code/bank-portal", { code }, withToken(root));
    expect(valid.data.data).toEqual({ valid: true });
    const other = String((Number(oathtoolNow(seedHex)) + 500_000) % 1_000_000).padStart(6, "0");
    const invalid = await client.post("/totp/code/bank-portal", { code: other }, withToken(root));
    expect(invalid.data.data).toEqual({ valid: false });
  });

  // Skipped until src answers a wrong-length code with valid: false (being fixed); today 400 "code must be 6 digits".
  it("validating a code of the wrong length answers 200 valid: false, as Vault does", async () => {
    const response = await client.post(
      "/totp/code/bank-portal",
      { code: "12345" },
      {
        ...withToken(root),
        validateStatus: () => true,
      },
    );
    expect({ status: response.status, body: response.data.data }).toEqual({
      status: 200,
      body: { valid: false },
    });
  });

  it("delete a key (no delete method: its axios instance, DELETE totp/keys/:name): 204, then readTOTPKey answers 404", async () => {
    const deleted = await client.delete("/totp/keys/aws-prod-root", withToken(root));
    expect(deleted.status).toBe(204);
    expect(await refusal(vault.readTOTPKey(root, "aws-prod-root"))).toBe(404);
    const listed = await client.get("/totp/keys", { params: { list: true }, ...withToken(root) });
    expect(listed.data.data.keys).toEqual(["bank-portal"]);
  });

  it("sysSeal: 204; then sealStatus says sealed, healthCheck answers 503 and readTOTPKey 503", async () => {
    expect(await vault.sysSeal(root)).toEqual({ status: 204, statusText: "No Content" });
    expect(await vault.sealStatus()).toMatchObject({ initialized: true, sealed: true, t: 2, n: 3 });
    expect(await refusal(vault.healthCheck())).toBe(503);
    expect(await vault.healthCheck({ sealedcode: 200 })).toMatchObject({ sealed: true });
    expect(await refusal(vault.readTOTPKey(root, "bank-portal"))).toBe(503);
  });
});
