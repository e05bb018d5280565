import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UI_CONTENT_SECURITY_POLICY } from "../../src/http/security-headers.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { tempDir, writeFile } from "../support/tools.js";

/** The same security headers on every answer over plain HTTP; HSTS only over TLS (test/http/tls.test.ts). */

let t: TestServer;
let root: string;

beforeAll(async () => {
  const ui = tempDir("breakglass-ui-");
  writeFile(ui, "index.html", "<!doctype html><title>breakglass</title>");
  mkdirSync(join(ui, "assets"));
  writeFile(ui, "assets/app-1.js", "console.log(1)");
  t = await startTestServer({ uiDirectory: ui, rateLimits: { shares: 1 } });
  root = (await initAndUnseal(t, 1, 1)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", { token: root, body: { key: "JBSWY3DPEHPK3PXP" } });
});
afterAll(async () => {
  await t?.close();
});

const EVERY_ANSWER = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

const headersOf = (response: ApiResponse) => Object.fromEntries(response.headers.entries());

describe("security headers", () => {
  it.each([
    ["a code", "GET", "/v1/totp/code/aws-prod-root", 200],
    ["a token", "POST", "/v1/auth/token/create", 200],
    ["a refusal for want of a token", "GET", "/v1/audit", 403],
    ["bad input", "GET", "/v1/audit?limit=0", 400],
    ["a path nobody serves", "GET", "/no/such/path", 404],
    ["a malformed URL (the framework's own refusal)", "GET", "/v1/%E0%A4%A", 400],
    ["a rate-limited request", "PUT", "/v1/sys/unseal", 429],
    ["health", "GET", "/v1/sys/health", 200],
    ["metrics", "GET", "/metrics", 200],
    ["the API document", "GET", "/v1/openapi.json", 200],
  ])(
    "%s: nosniff, no framing, no referrer, no caching, nothing loaded",
    async (_what, method, path, status) => {
      const token = path === "/v1/audit" ? undefined : root;
      const response = await t.call(method, path, { token, body: method === "GET" ? undefined : {} });
      expect(response.status).toBe(status);
      expect(headersOf(response)).toMatchObject({
        ...EVERY_ANSWER,
        "cache-control": "no-store",
        "content-security-policy": API_POLICY,
      });
      expect(response.headers.has("strict-transport-security")).toBe(false);
    },
  );

  it("web UI pages get the UI's policy; hashed assets alone may be cached", async () => {
    const page = await t.call("GET", "/ui/credentials/aws");
    expect(headersOf(page)).toMatchObject({
      ...EVERY_ANSWER,
      "cache-control": "no-store",
      "content-security-policy": UI_CONTENT_SECURITY_POLICY,
    });
    const asset = await t.call("GET", "/ui/assets/app-1.js");
    expect(headersOf(asset)).toMatchObject({
      ...EVERY_ANSWER,
      "cache-control": "public, max-age=31536000, immutable",
      "content-security-policy": UI_CONTENT_SECURITY_POLICY,
    });
  });
});
