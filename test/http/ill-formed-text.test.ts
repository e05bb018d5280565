import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Issue 14, finding 2 (the door): an unauthenticated POST /v1/ui/session with
 * {"username":"x\ud800", …} made the audit chain verify as broken — the hash covered a string the
 * store cannot hold. Ill-formed text is now refused with 400 wherever the API reads text: bodies
 * (lone surrogates in keys or values, bytes that are not UTF-8), the query and the path
 * (%-escapes that are not UTF-8), and the headers read as text (decoded as UTF-8).
 */

let t: TestServer;
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
});
afterAll(async () => {
  await t.close();
});

/** One request as raw bytes (fetch would re-encode a string as UTF-8). */
async function callRaw(
  method: string,
  path: string,
  options: { body?: Uint8Array; headers?: Record<string, string> },
): Promise<ApiResponse> {
  const response = await fetch(t.server.url + path, {
    method,
    headers: options.headers,
    body: options.body as BodyInit | undefined,
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text), headers: response.headers };
}

/** The same bytes as a header value: undici sends each character below U+0100 as one byte. */
const asHeader = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const JSON_TYPE = { "content-type": "application/json" };
const bytesOf = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))));

type Case = {
  what: string;
  method: string;
  path: string;
  body?: Uint8Array;
  headers?: Record<string, string>;
  authenticated?: boolean;
  message: RegExp;
};

const LONE_SURROGATE_BODIES: Case[] = [
  {
    what: "the reported login: a lone high surrogate in username (public)",
    method: "POST",
    path: "/v1/ui/session",
    body: bytesOf('{"username":"x\\ud800","password":"x"}'),
    headers: JSON_TYPE,
    message: /^body\.username is not well-formed Unicode text/,
  },
  {
    what: "a lone low surrogate in an unseal share (public)",
    method: "PUT",
    path: "/v1/sys/unseal",
    body: bytesOf('{"key":"\\udc00abc"}'),
    message: /^body\.key is not well-formed/,
  },
  {
    what: "a lone surrogate in a key name of the body (public)",
    method: "POST",
    path: "/v1/auth/userpass/login/alice",
    body: bytesOf('{"password":"p","\\ud83d":1}'),
    message: /^a key in body is not well-formed/,
  },
  {
    what: "a surrogate pair the wrong way round, deep in a token's metadata",
    method: "POST",
    path: "/v1/auth/token/create",
    body: bytesOf('{"display_name":"ok","meta":{"team":"a\\udc00\\ud800b"}}'),
    authenticated: true,
    message: /^body\.meta\.team is not well-formed/,
  },
  {
    what: "a lone surrogate in an approval's reason",
    method: "POST",
    path: "/v1/approvals",
    body: bytesOf('{"key":"aws","reason":"deploy \\uDBFF"}'),
    authenticated: true,
    message: /^body\.reason is not well-formed/,
  },
];

const NOT_UTF8_BODIES: Case[] = [
  ["a stray byte", [0xff]],
  ["an overlong NUL", [0xc0, 0x80]],
  ["an encoded surrogate (CESU-8)", [0xed, 0xa0, 0x80]],
  ["a character cut short", [0xe2, 0x82]],
].flatMap(([kind, bytes]) => [
  {
    what: `${kind} in a login's password (public)`,
    method: "POST",
    path: "/v1/ui/session",
    body: bytesOf('{"username":"alice","password":"x', bytes as number[], '"}'),
    headers: JSON_TYPE,
    message: /^the request body is not valid UTF-8$/,
  },
  {
    what: `${kind} in a key's issuer`,
    method: "POST",
    path: "/v1/totp/keys/not-stored",
    body: bytesOf('{"generate":true,"account_name":"a","issuer":"x', bytes as number[], '"}'),
    authenticated: true,
    message: /^the request body is not valid UTF-8$/,
  },
]);

const ESCAPES = ["%ED%A0%80", "%FF", "%C0%80", "%E2%82"];

const URL_CASES: Case[] = ESCAPES.flatMap((badEscape) => [
  {
    what: `${badEscape} in a code read's reason`,
    method: "GET",
    path: `/v1/totp/code/aws?reason=incident${badEscape}`,
    authenticated: true,
    message: /^the query string has a %-escape that is not UTF-8 text/,
  },
  {
    what: `${badEscape} in the audit search text`,
    method: "GET",
    path: `/v1/audit?q=${badEscape}`,
    authenticated: true,
    message: /^the query string has a %-escape that is not UTF-8 text/,
  },
  {
    what: `${badEscape} in a query parameter's name (public)`,
    method: "GET",
    path: `/v1/sys/seal-status?${badEscape}=1`,
    message: /^the query string has a %-escape that is not UTF-8 text/,
  },
  {
    what: `${badEscape} in a key name in the path`,
    method: "GET",
    path: `/v1/totp/code/aws${badEscape}?reason=x`,
    authenticated: true,
    message: /is not a valid url component/,
  },
]);

const HEADER_CASES: Case[] = [
  {
    what: "a reason header in latin1 (café as one byte é)",
    method: "GET",
    path: "/v1/totp/code/aws",
    headers: { "x-breakglass-reason": asHeader(bytesOf("caf", [0xe9])) },
    authenticated: true,
    message: /^the x-breakglass-reason header is not valid UTF-8 text$/,
  },
  {
    what: "a reason header holding an encoded surrogate",
    method: "GET",
    path: "/v1/totp/code/aws",
    headers: { "x-breakglass-reason": asHeader(bytesOf("x", [0xed, 0xa0, 0x80])) },
    authenticated: true,
    message: /^the x-breakglass-reason header is not valid UTF-8 text$/,
  },
  {
    what: "a user agent that is not UTF-8 on a login (public: it would be on the record)",
    method: "POST",
    path: "/v1/ui/session",
    body: bytesOf('{"username":"alice","password":"wrong"}'),
    headers: { ...JSON_TYPE, "user-agent": asHeader(bytesOf("agent/", [0xff, 0xfe])) },
    message: /^the user-agent header is not valid UTF-8 text$/,
  },
];

/** What ill-formed text must not change: keys, tokens, approvals, and the audit chain (it still verifies). */
async function snapshot() {
  const entries = (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries as {
    action: string;
  }[];
  return {
    keys: (await t.call("GET", "/v1/totp/keys?list=true", { token: root })).json.data.keys,
    approvals: (await t.call("GET", "/v1/approvals?mine=true", { token: root })).json.data.approvals,
    entries: entries.map((entry) => entry.action).filter((action) => !LOOKING.has(action)),
    verify: (await t.call("GET", "/v1/audit/verify", { token: root })).json.data.intact,
  };
}
/** The entries a snapshot makes itself. */
const LOOKING = new Set(["audit.read", "audit.verify", "totp.key.list", "approval.list"]);

describe("ill-formed text is refused at the door with 400, nothing stored, the chain intact", () => {
  it.each([...LONE_SURROGATE_BODIES, ...NOT_UTF8_BODIES, ...URL_CASES, ...HEADER_CASES])(
    "$what",
    async (c) => {
      const before = await snapshot();
      const response = await callRaw(c.method, c.path, {
        body: c.body,
        headers: { ...c.headers, ...(c.authenticated ? { "x-vault-token": root } : {}) },
      });
      expect(response.status, response.text).toBe(400);
      expect(response.json.errors).toHaveLength(1);
      expect(response.json.errors[0]).toMatch(c.message);
      const after = await snapshot();
      expect(after).toEqual(before);
      expect(after.verify).toBe(true);
    },
  );
});

describe("well-formed text from anywhere in the world is taken as sent", () => {
  const reason = "café ☕ and a key 🔑, 中文";
  const latestRead = async () =>
    (
      await t.call("GET", "/v1/audit?action=totp.code.read&limit=100000", { token: root })
    ).json.data.entries.at(-1);

  it("a reason header in UTF-8 is read as UTF-8 (Node hands it over as latin1), on the record as written", async () => {
    const read = await callRaw("GET", "/v1/totp/code/aws", {
      headers: { "x-vault-token": root, "x-breakglass-reason": asHeader(bytesOf(reason)) },
    });
    expect(read.status, read.text).toBe(200);
    expect(await latestRead()).toMatchObject({ reason, outcome: "allowed" });
  });

  it("a reason in the query, with astral characters, likewise; and a user agent in UTF-8", async () => {
    const read = await callRaw("GET", `/v1/totp/code/aws?reason=${encodeURIComponent(reason)}`, {
      headers: { "x-vault-token": root, "user-agent": asHeader(bytesOf("büro-agent/1 🔑")) },
    });
    expect(read.status, read.text).toBe(200);
    expect(await latestRead()).toMatchObject({ reason, user_agent: "büro-agent/1 🔑" });
  });

  it("a user agent cut to 300 characters never leaves half of a surrogate pair", async () => {
    const agent = `${"a".repeat(299)}🔑🔑`;
    const read = await callRaw("GET", "/v1/totp/code/aws?reason=cut", {
      headers: { "x-vault-token": root, "user-agent": asHeader(bytesOf(agent)) },
    });
    expect(read.status).toBe(200);
    expect((await latestRead()).user_agent).toBe("a".repeat(299));
    expect((await t.call("GET", "/v1/audit/verify", { token: root })).json.data.intact).toBe(true);
  });

  it("surrogate pairs written as JSON escapes are one character, not ill-formed", async () => {
    const created = await callRaw("POST", "/v1/auth/token/create", {
      body: bytesOf('{"display_name":"key \\ud83d\\udd11","policies":["default"]}'),
      headers: { "x-vault-token": root },
    });
    expect(created.status, created.text).toBe(200);
    expect((await t.call("GET", "/v1/audit/verify", { token: root })).json.data.intact).toBe(true);
  });
});
