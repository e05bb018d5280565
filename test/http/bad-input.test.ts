import { randomBytes } from "node:crypto";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../../src/core/audit-chain.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * INTERFACES.md "Bad input": every malformed input gets a 4xx with {"errors": [...]}, changes
 * nothing, never a 5xx, and the server stays up.
 */

let t: TestServer;
let root: string;
let keys: string[];
const seed = randomBytes(20);

beforeAll(async () => {
  t = await startTestServer();
  ({ rootToken: root, keys } = await initAndUnseal(t));
  await t.call("POST", "/v1/totp/keys/existing", { token: root, body: { key: encodeBase32Upper(seed) } });
});
afterAll(async () => {
  await t.close();
});

const blankPng = (() => {
  const png = new PNG({ width: 32, height: 32 });
  png.data.fill(255);
  return PNG.sync.write(png).toString("base64");
})();

type Case = {
  what: string;
  method: string;
  path: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  token?: string | null;
  status?: number;
  message: RegExp;
};

const cases: Case[] = [
  {
    what: "body that is not JSON",
    method: "POST",
    path: "/v1/totp/keys/a",
    rawBody: "{nope",
    message: /not valid JSON/,
  },
  {
    what: "body that is a JSON array",
    method: "POST",
    path: "/v1/totp/keys/a",
    rawBody: "[1,2]",
    message: /JSON object/,
  },
  {
    what: "body that is a JSON string",
    method: "PUT",
    path: "/v1/sys/unseal",
    rawBody: '"abc"',
    message: /JSON object/,
  },
  {
    what: "init again",
    method: "PUT",
    path: "/v1/sys/init",
    body: { secret_shares: 3, secret_threshold: 2 },
    message: /already initialized/,
  },
  { what: "init without counts", method: "PUT", path: "/v1/sys/init", body: {}, message: /secret_shares/ },
  {
    what: "init with 0 shares",
    method: "PUT",
    path: "/v1/sys/init",
    body: { secret_shares: 0, secret_threshold: 1 },
    message: /secret_shares/,
  },
  {
    what: "init with 256 shares",
    method: "PUT",
    path: "/v1/sys/init",
    body: { secret_shares: 256, secret_threshold: 2 },
    message: /secret_shares/,
  },
  {
    what: "init with text shares",
    method: "PUT",
    path: "/v1/sys/init",
    body: { secret_shares: "many", secret_threshold: 2 },
    message: /secret_shares/,
  },
  {
    what: "unseal with nothing",
    method: "PUT",
    path: "/v1/sys/unseal",
    body: {},
    message: /'key' must be specified/,
  },
  {
    what: "unseal with a share that is neither hex nor base64",
    method: "PUT",
    path: "/v1/sys/unseal",
    body: { key: "zz!!" },
    message: /neither hex nor base64/,
  },
  {
    what: "unseal with a share of the wrong length",
    method: "PUT",
    path: "/v1/sys/unseal",
    body: { key: "abcd" },
    message: /33 bytes/,
  },
  {
    what: "unseal with a number",
    method: "PUT",
    path: "/v1/sys/unseal",
    body: { key: { a: 1 } },
    message: /key/,
  },
  {
    what: "key with an invalid name",
    method: "POST",
    path: "/v1/totp/keys/..%2Fetc",
    body: { key: "JBSWY3DPEHPK3PXP" },
    message: /key name/,
  },
  {
    what: "key with a name too long",
    method: "POST",
    path: `/v1/totp/keys/${"a".repeat(200)}`,
    body: { key: "JBSWY3DPEHPK3PXP" },
    message: /name/,
  },
  {
    what: "key with no source",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { issuer: "x" },
    message: /exactly one of/,
  },
  {
    what: "key with two sources",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DPEHPK3PXP", url: "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP" },
    message: /exactly one of/,
  },
  {
    what: "key that is not base32",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "0189!!" },
    message: /base32/,
  },
  {
    what: "key too short",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DP" },
    message: /too short/,
  },
  {
    what: "7 digits",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DPEHPK3PXP", digits: 7 },
    message: /digits/,
  },
  {
    what: "MD5",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DPEHPK3PXP", algorithm: "MD5" },
    message: /algorithm/,
  },
  {
    what: "negative period",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DPEHPK3PXP", period: -30 },
    message: /period/,
  },
  {
    what: "skew 5",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { key: "JBSWY3DPEHPK3PXP", skew: 5 },
    message: /skew/,
  },
  {
    what: "a URL of another scheme",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { url: "https://evil.example/?secret=JBSWY3DPEHPK3PXP" },
    message: /otpauth/,
  },
  {
    what: "an HOTP URL",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { url: "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=3" },
    message: /HOTP/,
  },
  {
    what: "a QR image that is not base64",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { qr_image: "%%%" },
    message: /base64/,
  },
  {
    what: "a QR image that is no image",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { qr_image: Buffer.from("hello").toString("base64") },
    message: /PNG or a JPEG/,
  },
  {
    what: "a PNG without a QR code",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { qr_image: blankPng },
    message: /no QR code/,
  },
  {
    what: "generate without issuer",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { generate: true },
    message: /issuer/,
  },
  {
    what: "generate with a tiny seed",
    method: "POST",
    path: "/v1/totp/keys/a",
    body: { generate: true, issuer: "a", account_name: "b", key_size: 4 },
    message: /key_size/,
  },
  {
    what: "an existing key name",
    method: "POST",
    path: "/v1/totp/keys/existing",
    body: { key: encodeBase32Upper(randomBytes(20)) },
    status: 409,
    message: /already exists/,
  },
  {
    what: "a Google export that is not one",
    method: "POST",
    path: "/v1/totp/import/google-authenticator",
    body: { url: "otpauth-migration://offline?data=%FF" },
    message: /does not decode|no accounts|data/,
  },
  {
    what: "a Google export and an image",
    method: "POST",
    path: "/v1/totp/import/google-authenticator",
    body: { url: "x", qr_image: "y" },
    message: /exactly one of/,
  },
  {
    what: "a reason too long",
    method: "GET",
    path: `/v1/totp/code/existing?reason=${"x".repeat(600)}`,
    message: /reason is too long/,
  },
  {
    what: "a reason with a line break",
    method: "GET",
    path: "/v1/totp/code/existing",
    headers: { "X-Breakglass-Reason": "a\tb" },
    message: /control characters/,
  },
  { what: "enroll=maybe", method: "GET", path: "/v1/totp/code/existing?enroll=maybe", message: /enroll/ },
  {
    what: "a code with letters",
    method: "POST",
    path: "/v1/totp/code/existing",
    body: { code: "12ab56" },
    message: /6 digits/,
  },
  { what: "a code missing", method: "POST", path: "/v1/totp/code/existing", body: {}, message: /code/ },
  {
    what: "an unknown policy",
    method: "POST",
    path: "/v1/auth/token/create",
    body: { policies: ["god"] },
    message: /unknown policies: god/,
  },
  {
    what: "a ttl that is not a duration",
    method: "POST",
    path: "/v1/auth/token/create",
    body: { ttl: "soon" },
    message: /ttl/,
  },
  {
    what: "meta that is not strings",
    method: "POST",
    path: "/v1/auth/token/create",
    body: { meta: { a: { b: 1 } } },
    message: /meta/,
  },
  {
    what: "an audit time that is no time",
    method: "GET",
    path: "/v1/audit?since=yesterday",
    message: /ISO-8601/,
  },
  { what: "an audit limit of 0", method: "GET", path: "/v1/audit?limit=0", message: /limit/ },
  {
    what: "a health code out of range",
    method: "GET",
    path: "/v1/sys/health?sealedcode=7000",
    message: /sealedcode/,
  },
  {
    what: "a garbage token",
    method: "GET",
    path: "/v1/totp/code/existing",
    token: "garbage\u00e9",
    status: 403,
    message: /permission denied/,
  },
  {
    what: "a Bearer header without token",
    method: "GET",
    path: "/v1/totp/keys?list=true",
    token: null,
    headers: { Authorization: "Bearer" },
    status: 403,
    message: /permission denied/,
  },
  { what: "an unknown path", method: "GET", path: "/v1/secret/data/x", status: 404, message: /no handler/ },
  {
    what: "a malformed URL escape",
    method: "GET",
    path: "/v1/totp/code/%E0%A4%A",
    status: 400,
    message: /not a valid url component/,
  },
  // The parser hands a repeated parameter over as a list: it once reached the store as a row value (500).
  {
    what: "a query parameter given twice (approval, on a code read)",
    method: "GET",
    path: "/v1/totp/code/existing?approval=a&approval=b",
    message: /querystring\.approval must be given once/,
  },
  {
    what: "a query parameter given twice that the route does not take",
    method: "GET",
    path: "/v1/audit?actor=anonymous&whatever=1&whatever=2",
    message: /querystring\.whatever must be given once/,
  },
  {
    what: "a query parameter given twice that the route takes (limit)",
    method: "GET",
    path: "/v1/audit?limit=1&limit=2",
    message: /querystring\.limit must be given once/,
  },
];

describe("bad input", () => {
  it.each(cases)("$what → 4xx with a message, nothing changed", async (c) => {
    const before = await snapshot();
    const response = await t.call(c.method, c.path, {
      body: c.body,
      rawBody: c.rawBody,
      headers: c.headers,
      token: c.token === null ? undefined : (c.token ?? root),
    });
    expect(response.status, response.text).toBe(c.status ?? 400);
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0]).toMatch(c.message);
    expect(response.text).not.toMatch(/ at \S+:\d+:\d+/); // no stack trace
    expect(await snapshot()).toEqual(before);
  });

  it("a body larger than the limit is refused with 413", async () => {
    const response = await t.call("POST", "/v1/totp/keys/huge", {
      token: root,
      rawBody: JSON.stringify({ qr_image: "A".repeat(17 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.json.errors).toHaveLength(1);
  });

  it("a wrong unseal share on an unsealed vault changes nothing, and after all that the server is up and the chain verifies", async () => {
    expect((await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } })).json.sealed).toBe(false);
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(200);
    const entries = (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries;
    expect(verifyChain(entries).firstProblem).toBeNull();
  });
});

/** What a bad request must not change: keys, the seal, and the validity of existing codes. */
async function snapshot() {
  const list = await t.call("GET", "/v1/totp/keys?list=true", { token: root });
  const status = await t.call("GET", "/v1/sys/seal-status");
  const metadata = await t.call("GET", "/v1/totp/keys/existing", { token: root });
  return {
    keys: list.json.data.keys,
    sealed: status.json.sealed,
    progress: status.json.progress,
    existing: metadata.json.data,
  };
}
