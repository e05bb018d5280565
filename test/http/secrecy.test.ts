import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containsSeed, encodeBase32Upper } from "../support/encodings.js";
import { migrationUri } from "../support/google-export.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { storedBytes } from "../support/storage.js";
import { oathtoolCode, qrencodePng, tempDir } from "../support/tools.js";

/**
 * The seed is write-only: once imported — or enrolled as a person's own second factor, whose
 * enrolment shows it that once — it never appears — raw, hex, base32 (either case), base64 — in
 * any response of any endpoint the OpenAPI document lists, or in any file of the data directory.
 * The server log, at trace level and for every other secret too, is test/http/secrecy-log.test.ts.
 */

let t: TestServer;
let root: string;
const seeds = { uri: randomBytes(20), base32: randomBytes(32), qr: randomBytes(20), google: randomBytes(20) };
const responses: string[] = [];
const IVY_PASSWORD = "ivy has a long password";
const codeOf = (seed: Uint8Array, offset: number) =>
  oathtoolCode(Buffer.from(seed).toString("hex"), {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000) + offset,
  });

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  const record = async (...args: Parameters<TestServer["call"]>) => {
    const response = await t.call(...args);
    responses.push(response.text);
    return response;
  };
  await record("POST", "/v1/totp/keys/by-uri", {
    token: root,
    body: { url: `otpauth://totp/AWS:root?secret=${encodeBase32Upper(seeds.uri)}&issuer=AWS` },
  });
  await record("POST", "/v1/totp/keys/by-key", {
    token: root,
    body: { key: encodeBase32Upper(seeds.base32).toLowerCase(), algorithm: "SHA256" },
  });
  const png = readFileSync(
    qrencodePng(`otpauth://totp/Bank:treasury?secret=${encodeBase32Upper(seeds.qr)}`, tempDir()),
  );
  await record("POST", "/v1/totp/keys/by-qr", { token: root, body: { qr_image: png.toString("base64") } });
  await record("POST", "/v1/totp/import/google-authenticator", {
    token: root,
    body: { url: migrationUri([{ secret: seeds.google, name: "GitHub:owner", issuer: "GitHub" }]) },
  });
  // A refused import of an existing name must not echo the seed either.
  await record("POST", "/v1/totp/keys/by-key", {
    token: root,
    body: { key: encodeBase32Upper(seeds.base32) },
  });
  // ivy's own second factor: its enrolment (not recorded) is the one answer that shows the seed.
  await record("PUT", "/v1/auth/userpass/users/ivy", { token: root, body: { password: IVY_PASSWORD } });
  const ivy = (await record("POST", "/v1/auth/userpass/login/ivy", { body: { password: IVY_PASSWORD } })).json
    .auth.client_token;
  const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token: ivy, body: {} });
  const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
  const factor = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes);
  Object.assign(seeds, { "second factor": factor });
  await record("POST", "/v1/auth/userpass/mfa/confirm", { token: ivy, body: { code: codeOf(factor, 0) } });
  await record("POST", "/v1/auth/userpass/login/ivy", { body: { password: IVY_PASSWORD, totp: "000000" } });
  await record("POST", "/v1/auth/userpass/login/ivy", {
    body: { password: IVY_PASSWORD, totp: codeOf(factor, 30) },
  });
});
afterAll(async () => {
  await t.close();
});

describe("a seed, once imported", () => {
  it("appears in no response of any endpoint in the OpenAPI document", async () => {
    const document = (await t.call("GET", "/v1/openapi.json")).json;
    // userpass-mfa.ivy: where the TOTP engine kept a person's second factor before it had a table of its own.
    const names = ["by-uri", "by-key", "by-qr", "github-owner", "userpass-mfa.ivy"];
    let calls = 0;
    for (const [path, operations] of Object.entries(
      document.paths as Record<string, Record<string, unknown>>,
    )) {
      for (const method of Object.keys(operations)) {
        if (path === "/v1/sys/seal" || path.endsWith("revoke-self")) continue; // would end the session; covered elsewhere
        for (const name of path.includes("{name}") ? names : [""]) {
          const url = path.replace("{name}", name) + (path === "/v1/totp/keys" ? "?list=true" : "");
          const body = method === "post" || method === "put" ? bodyFor(path) : undefined;
          const response = await t.call(method.toUpperCase(), url, { token: root, body });
          responses.push(response.text);
          calls++;
        }
      }
    }
    expect(calls).toBeGreaterThan(20);
    for (const [which, seed] of Object.entries(seeds)) {
      expect(
        responses.some((text) => containsSeed(text, seed)),
        `the ${which} seed appeared in a response`,
      ).toBe(false);
    }
  });

  it("appears nowhere in what the server stored (every file of the data directory, or a dump of the database)", () => {
    const stored = storedBytes(t.storage);
    if (t.storage.engine === "sqlite") expect(stored.map((f) => f.where)).toContain("breakglass.sqlite");
    for (const { where, content } of stored) {
      expect(content.length).toBeGreaterThan(0);
      for (const seed of Object.values(seeds)) expect(containsSeed(content, seed), where).toBe(false);
    }
  });

  it("and neither does any token: each is 32 random bytes, of which only an HMAC is stored", async () => {
    const tokens = [root];
    for (let i = 0; i < 5; i++) {
      const created = await t.call("POST", "/v1/auth/token/create", {
        token: root,
        body: { policies: ["default"] },
      });
      tokens.push(created.json.auth.client_token);
    }
    for (const token of tokens) {
      expect(token).toMatch(/^bgs\.[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), "base64url")).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const { content } of storedBytes(t.storage))
      for (const token of tokens) expect(content.includes(Buffer.from(token))).toBe(false);
  });
});

function bodyFor(path: string): unknown {
  if (path === "/v1/sys/init") return { secret_shares: 1, secret_threshold: 1 };
  if (path === "/v1/sys/unseal") return { reset: true };
  if (path.startsWith("/v1/totp/code/")) return { code: "000000" };
  if (path.startsWith("/v1/totp/keys/"))
    return { generate: true, exported: false, issuer: "x", account_name: "y" };
  if (path === "/v1/auth/token/create") return { policies: ["totp-reader"] };
  return {};
}
