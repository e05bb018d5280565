import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textProblem } from "../../src/core/text.js";
import { vaultDisplayName } from "../../src/services/auth/tokens.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Every free-text field a person types that reaches the audit log, a notification, an e-mail or a
 * webhook refuses what would let it pass for something else there (core/text.ts): ESC, CR, LF,
 * NEL (U+0085), the line separator U+2028 and the bidi override and isolate characters, with a 400
 * naming the field; nothing is stored and nothing is audited. Ordinary text in any script passes.
 */

let t: TestServer;
let root: string;
let alice: string;
let bob: string;
let deviceId: string;
let sinkDirectory: string;
let sent = 0;

const SEED = encodeBase32Upper(randomBytes(20));
const REFUSED = [
  ["ESC", "\u001b"],
  ["CR", "\r"],
  ["LF", "\n"],
  ["NEL", "\u0085"],
  ["LINE SEPARATOR", "\u2028"],
  ["RIGHT-TO-LEFT OVERRIDE", "\u202e"],
  ["FIRST STRONG ISOLATE", "\u2068"],
] as const;

beforeAll(async () => {
  sinkDirectory = mkdtempSync(join(tmpdir(), "breakglass-free-text-"));
  t = await startTestServer();
  ({ rootToken: root } = await initAndUnseal(t));
  for (const name of ["alice", "bob"])
    expect(
      (
        await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
          token: root,
          body: { password: `${name}'s long password` },
        })
      ).status,
    ).toBe(204);
  const login = async (name: string) =>
    (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name}'s long password` },
      })
    ).json.auth.client_token as string;
  alice = await login("alice");
  bob = await login("bob");
  for (const name of ["guarded", "plain"])
    await t.call("POST", `/v1/totp/keys/${name}`, { token: root, body: { key: SEED, issuer: "AWS" } });
  const rule = await t.call("PUT", "/v1/totp/access/guarded", {
    token: root,
    body: { readers: ["user:alice"], approvers: ["user:bob"], approvals_required: 1, require_reason: true },
  });
  expect(rule.status).toBeLessThan(300);
  deviceId = (await addDevice()).id;
});
afterAll(async () => {
  await t?.close();
  rmSync(sinkDirectory, { recursive: true, force: true });
});

async function addDevice(): Promise<{ id: string }> {
  const created = await t.call("POST", "/v1/devices", {
    token: root,
    body: {
      kind: "hardware-totp",
      serial: `SN-${randomBytes(4).toString("hex")}`,
      label: "AWS root token",
      protects: ["plain"],
      location: "Safe A",
      custodian: "erin",
      review_by: "2031-01-01",
    },
  });
  expect(created.status, created.text).toBe(200);
  return created.json.data;
}

const device = async () => (await t.call("GET", `/v1/devices/${deviceId}`, { token: root })).json.data;
const audited = async (action: string, value: string) =>
  (await t.server.services.audit.list({ action })).some((entry) => entry.reason === value);

let pendingApproval: string | null = null;
async function pendingApprovalId(): Promise<string> {
  pendingApproval ??= (
    await t.call("POST", "/v1/approvals", { token: alice, body: { key: "guarded", reason: "INC-1" } })
  ).json.data.id as string;
  return pendingApproval;
}

/** An e-mail address has no spaces: the text goes before the @. */
const asGiven = (field: string, value: string) =>
  field === "email" ? `${value.replaceAll(" ", ".")}@acme.example` : value;

let lastToken = "";
let retiring = "";
let keyName = "";

interface FreeTextField {
  /** What it is, for the test's name. */
  what: string;
  /** How the 400 names it. */
  field: string;
  /** Multi-line text keeps LF. */
  lines?: boolean;
  /** What `send` needs, done before the audit log is looked at. */
  prepare?: () => Promise<void>;
  send: (value: string) => Promise<ApiResponse>;
  /** Whether `value` was stored (or, for a reason, put on the audit log). */
  stored: (value: string) => Promise<boolean>;
  /** After a value was taken: back to where the next send can start. */
  cleanUp?: () => Promise<void>;
}

const FIELDS: FreeTextField[] = [
  {
    what: "an approval request's reason",
    field: "body.reason",
    send: (reason) => t.call("POST", "/v1/approvals", { token: alice, body: { key: "guarded", reason } }),
    stored: async (reason) =>
      (await t.call("GET", "/v1/approvals?mine=true", { token: alice })).json.data.approvals.some(
        (approval: { reason: string }) => approval.reason === reason,
      ),
  },
  ...(["approve", "deny"] as const).map(
    (decision): FreeTextField => ({
      what: `a comment to ${decision} with`,
      field: "body.comment",
      prepare: async () => {
        await pendingApprovalId();
      },
      send: async (comment) =>
        t.call("POST", `/v1/approvals/${await pendingApprovalId()}/${decision}`, {
          token: bob,
          body: { comment },
        }),
      stored: async (comment) =>
        (
          await t.call("GET", `/v1/approvals/${await pendingApprovalId()}`, { token: bob })
        ).json.data.votes.some((vote: { comment: string | null }) => vote.comment === comment),
      cleanUp: async () => {
        pendingApproval = null;
      },
    }),
  ),
  {
    what: "a token's display name",
    field: "body.display_name",
    send: async (display_name) => {
      const created = await t.call("POST", "/v1/auth/token/create", { token: root, body: { display_name } });
      if (created.status === 200) lastToken = created.json.auth.client_token;
      return created;
    },
    stored: async (name) =>
      lastToken !== "" &&
      (await t.call("GET", "/v1/auth/token/lookup-self", { token: lastToken })).json.data.display_name ===
        vaultDisplayName(name), // Vault's rule: token-NAME, letters, digits and - only
  },
  {
    what: "a token's metadata",
    field: "body.meta.purpose",
    send: async (purpose) => {
      const created = await t.call("POST", "/v1/auth/token/create", {
        token: root,
        body: { meta: { purpose } },
      });
      if (created.status === 200) lastToken = created.json.auth.client_token;
      return created;
    },
    stored: async (purpose) =>
      lastToken !== "" &&
      (await t.call("GET", "/v1/auth/token/lookup-self", { token: lastToken })).json.data.meta.purpose ===
        purpose,
  },
  ...(["display_name", "email"] as const).map(
    (field): FreeTextField => ({
      what: `a person's ${field.replace("_", " ")}`,
      field: `body.${field}`,
      send: (value) =>
        t.call("PUT", "/v1/auth/userpass/users/carol", {
          token: root,
          body: {
            password: "carol's long password",
            [field]: asGiven(field, value),
          },
        }),
      stored: async (value) => {
        const user = await t.call("GET", "/v1/auth/userpass/users/carol", { token: root });
        return user.status === 200 && user.json.data[field] === asGiven(field, value);
      },
    }),
  ),
  ...(["serial", "label", "location", "custodian"] as const).map(
    (field): FreeTextField => ({
      what: `a device's ${field}`,
      field: `body.${field}`,
      send: (value) => t.call("PATCH", `/v1/devices/${deviceId}`, { token: root, body: { [field]: value } }),
      stored: async (value) => (await device())[field] === value,
    }),
  ),
  {
    what: "a name among what a device protects",
    field: "body.protects.1",
    send: (name) =>
      t.call("PATCH", `/v1/devices/${deviceId}`, { token: root, body: { protects: ["plain", name] } }),
    stored: async (name) => (await device()).protects.includes(name),
  },
  {
    what: "a device's notes (multi-line)",
    field: "body.notes",
    lines: true,
    send: (notes) => t.call("PATCH", `/v1/devices/${deviceId}`, { token: root, body: { notes } }),
    stored: async (notes) => (await device()).notes === notes,
  },
  {
    what: "a device's check-out reason",
    field: "reason",
    send: (reason) => t.call("POST", `/v1/devices/${deviceId}/checkout`, { token: root, body: { reason } }),
    stored: async (reason) => (await device()).checkout_reason === reason,
    cleanUp: async () => {
      await t.call("POST", `/v1/devices/${deviceId}/checkin`, { token: root, body: {} });
    },
  },
  {
    what: "a device's check-in reason",
    field: "reason",
    prepare: async () => {
      await t.call("POST", `/v1/devices/${deviceId}/checkout`, { token: root, body: { reason: "INC-2" } });
    },
    send: (reason) => t.call("POST", `/v1/devices/${deviceId}/checkin`, { token: root, body: { reason } }),
    stored: (reason) => audited("devices.checkin", reason),
    cleanUp: async () => {
      await t.call("POST", `/v1/devices/${deviceId}/checkin`, { token: root, body: {} });
    },
  },
  {
    what: "a device's retirement reason",
    field: "reason",
    prepare: async () => {
      retiring = (await addDevice()).id;
    },
    send: (reason) =>
      t.call("DELETE", `/v1/devices/${retiring}?reason=${encodeURIComponent(reason)}`, { token: root }),
    stored: (reason) => audited("devices.retire", reason),
  },
  {
    what: "a code read's reason",
    field: "reason",
    send: (reason) =>
      t.call("GET", `/v1/totp/code/plain?reason=${encodeURIComponent(reason)}`, { token: root }),
    stored: (reason) => audited("totp.code.read", reason),
  },
  {
    what: "an audit sink's description",
    field: "body.description",
    send: (description) =>
      t.call("PUT", "/v1/sys/audit/sinks/described", {
        token: root,
        body: { type: "file", description, options: { path: join(sinkDirectory, "audit.jsonl") } },
      }),
    stored: async (description) =>
      (await t.call("GET", "/v1/sys/audit/sinks/described", { token: root })).json.data?.description ===
      description,
  },
  ...(["issuer", "account_name"] as const).map(
    (field): FreeTextField => ({
      what: `a credential's ${field.replace("_", " ")}`,
      field: `body.${field}`,
      send: (value) => {
        keyName = `key-${sent}`;
        return t.call("POST", `/v1/totp/keys/${keyName}`, {
          token: root,
          body: { key: SEED, [field]: value },
        });
      },
      stored: async (value) => {
        const key = await t.call("GET", `/v1/totp/keys/${keyName}`, { token: root });
        return key.status === 200 && key.json.data[field] === value;
      },
    }),
  ),
  {
    what: "an issuer in an otpauth URI",
    field: "the issuer or account name in the otpauth URI",
    send: (issuer) => {
      keyName = `key-${sent}`;
      const url = `otpauth://totp/${encodeURIComponent(issuer)}:ops?secret=${SEED}&issuer=${encodeURIComponent(issuer)}`;
      return t.call("POST", `/v1/totp/keys/${keyName}`, { token: root, body: { url } });
    },
    stored: async (issuer) => {
      const key = await t.call("GET", `/v1/totp/keys/${keyName}`, { token: root });
      return key.status === 200 && key.json.data.issuer === issuer;
    },
  },
  {
    what: "a custodian's name",
    field: "body.custodians.0",
    send: (name) =>
      t.call("PUT", "/v1/sys/rekey/init", {
        body: { secret_shares: 1, secret_threshold: 1, custodians: [name] },
      }),
    stored: async (name) =>
      ((await t.call("GET", "/v1/sys/rekey/init")).json.custodians ?? []).includes(name),
    cleanUp: async () => {
      await t.call("DELETE", "/v1/sys/rekey/init");
    },
  },
];

const BY_NAME = FIELDS.map((spec) => [spec.what, spec] as const);

/** A fresh value each time, so that what a field stored before cannot pass for it. */
const valueWith = (text: string) => `INC-${++sent} ${text} done`;

async function lastSeq(): Promise<number> {
  return (await t.server.services.audit.list({})).at(-1)?.seq ?? 0;
}

describe("free text", () => {
  it.each(BY_NAME)(
    "%s refuses ESC, CR, LF, NEL, U+2028 and bidi controls with a 400 naming it; nothing is stored or audited",
    async (_what, spec) => {
      for (const [name, character] of REFUSED) {
        if (spec.lines && character === "\n") continue;
        await spec.prepare?.();
        const value = valueWith(character);
        const since = await lastSeq();
        const refused = await spec.send(value);
        expect({ name, status: refused.status }).toEqual({ name, status: 400 });
        expect(refused.json.errors[0]).toBe(
          `${spec.field} ${textProblem(value, spec.lines ? "lines" : "line")}`,
        );
        const written = (await t.server.services.audit.list({ afterSeq: since })).filter(
          (entry) => entry.action !== "audit.checkpoint",
        );
        expect(written, name).toEqual([]);
        expect(await spec.stored(value), name).toBe(false);
        await spec.cleanUp?.();
      }
    },
  );

  it.each(BY_NAME)(
    "%s takes ordinary text: accents, emoji, CJK, right-to-left scripts",
    async (_what, spec) => {
      await spec.prepare?.();
      const value = valueWith(`Zoë — 障害対応 🧾 طوارئ${spec.lines ? "\nsecond line" : ""}`);
      const taken = await spec.send(value);
      expect(taken.status, taken.text).toBeLessThan(300);
      expect(await spec.stored(value)).toBe(true);
      await spec.cleanUp?.();
    },
  );
});

describe("a user name at login", () => {
  it.each([
    [
      "userpass login",
      (name: string) => `/v1/auth/userpass/login/${encodeURIComponent(name)}`,
      "params.username",
    ],
    ["the web UI's sign-in", () => "/v1/ui/session", "body.username"],
  ] as const)(
    "%s refuses ESC, CR, LF, NEL, U+2028 and bidi controls in the user name with a 400, and audits nothing",
    async (_what, path, field) => {
      for (const [name, character] of REFUSED) {
        const username = `alice${character}`;
        const since = await lastSeq();
        const refused = await t.call("POST", path(username), {
          body: { username, password: "a wrong password" },
        });
        expect({ name, status: refused.status }).toEqual({ name, status: 400 });
        expect(refused.json.errors[0]).toBe(`${field} ${textProblem(username)}`);
        const written = (await t.server.services.audit.list({ afterSeq: since })).filter(
          (entry) => entry.action !== "audit.checkpoint",
        );
        expect(written, name).toEqual([]);
      }
    },
  );
});

describe("a key name or id in the path", () => {
  it.each([
    ["a credential read", "GET", (name: string) => `/v1/totp/code/${name}?reason=INC-1`, "params.name"],
    ["a device check-out", "POST", (id: string) => `/v1/devices/${id}/checkout`, "params.id"],
    ["an approval", "POST", (id: string) => `/v1/approvals/${id}/approve`, "params.id"],
  ] as const)(
    "%s refuses ESC, CR, LF, NEL, U+2028 and bidi controls with a 400 before anything is audited",
    async (_what, method, path, field) => {
      for (const [name, character] of REFUSED) {
        const since = await lastSeq();
        const refused = await t.call(method, path(encodeURIComponent(`x${character}`)), {
          token: root,
          body: method === "GET" ? undefined : { reason: "INC-1" },
        });
        expect({ name, status: refused.status }).toEqual({ name, status: 400 });
        expect(refused.json.errors[0]).toBe(`${field} ${textProblem(`x${character}`)}`);
        const written = (await t.server.services.audit.list({ afterSeq: since })).filter(
          (entry) => entry.action !== "audit.checkpoint",
        );
        expect(written, name).toEqual([]);
      }
    },
  );
});

/**
 * What a request carries that is not free text: identifiers and dates the code that reads them
 * checks against a pattern, secrets and encodings, enumerations, and the audit log's search
 * filters (never stored). A reason in a query or body is checked where it is read (reasonOf), with
 * the X-Breakglass-Reason header. A new string field that is none of these fails the test below
 * until it is marked `"x-text"` or named here.
 */
const NOT_FREE_TEXT = new Set([
  ...["name", "id", "username", "key", "access_rule", "approval", "prefix", "list", "accessor"],
  "destination", // a dead letter's destination: refused unless it is one that exists
  ...["policies[]", "token_policies[]", "groups[]", "members[]", "readers[]", "approvers[]", "notify[]"],
  ...["password", "token", "totp", "code", "otp", "nonce", "pgp_key", "pgp_keys[]", "root_token_pgp_key"],
  ...["url", "qr_image", "algorithm", "kind", "status", "type", "outcome", "battery_expires", "review_by"],
  ...["action", "actor", "target", "since", "until", "q", "due_within"],
  "reason",
  ...["role", "default_role", "group_mappings.*"], // sign-in roles and groups: checked names
  ...["state", "client_nonce", "oidc_client_secret"], // a sign-in's secrets
  "recovery_pgp_keys[]", // sys/init takes it only to refuse it (no recovery keys on a Shamir seal)
  // A passkey's answers (WebAuthn, base64url by pattern): checked by @simplewebauthn/server, never audited as text.
  ...[
    "rawId",
    "clientDataJSON",
    "authenticatorData",
    "signature",
    "userHandle",
    "attestationObject",
    "publicKey",
  ],
]);

describe("the API's string fields", () => {
  it("are each free text checked with x-text, or an identifier, secret, encoding or filter named here", async () => {
    const document = (await t.call("GET", "/v1/openapi.json")).json;
    const unchecked: string[] = [];
    const walk = (schema: Record<string, any> | undefined, where: string, field: string) => {
      if (!schema || typeof schema !== "object") return;
      if (
        [schema.type].flat().includes("string") &&
        !schema["x-text"] &&
        !schema.enum &&
        !NOT_FREE_TEXT.has(field)
      )
        unchecked.push(where);
      for (const [name, property] of Object.entries(schema.properties ?? {}))
        walk(property as Record<string, any>, `${where}.${name}`, name);
      walk(schema.items, `${where}[]`, `${field}[]`);
      if (typeof schema.additionalProperties === "object")
        walk(schema.additionalProperties, `${where}.*`, `${field}.*`);
    };
    for (const [path, operations] of Object.entries<Record<string, any>>(document.paths))
      for (const [method, operation] of Object.entries<Record<string, any>>(operations)) {
        for (const parameter of operation.parameters ?? [])
          walk(parameter.schema, `${method} ${path} ${parameter.in}:${parameter.name}`, parameter.name);
        walk(operation.requestBody?.content?.["application/json"]?.schema, `${method} ${path} body`, "");
      }
    expect(unchecked).toEqual([]);
  });
});
