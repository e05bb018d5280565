import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Every endpoint of the OpenAPI document × every role, and × a half-logged-in person (someone an
 * admin requires to enrol a second factor, who logged in with the password alone): each that
 * should not have an endpoint is refused (403) and nothing happens. A new endpoint without a line
 * below fails this test.
 */

type Role = "admin" | "operator" | "auditor" | "member";
const ROLES: Role[] = ["admin", "operator", "auditor", "member"];
/** Every role; not a person who must still enrol a second factor. */
const ALL = "everyone" as const;
/** Every token, a half-logged-in person's too: what enrolling a second factor needs. */
const ENROLMENT = "everyone, enrolling too" as const;
const PUBLIC = "no token needed" as const;

type Who = Role[] | typeof ALL | typeof ENROLMENT | typeof PUBLIC;

/** Who may use each endpoint (besides root); by method where reading (GET) and writing differ. */
const WHO_MAY: Record<string, Who | { get: Who; write: Who }> = {
  "/v1/sys/init": PUBLIC,
  "/v1/sys/unseal": PUBLIC,
  "/v1/sys/seal-status": PUBLIC,
  "/v1/sys/health": PUBLIC,
  "/v1/audit/public-key": PUBLIC,
  "/v1/auth/userpass/login/{username}": PUBLIC,
  "/v1/auth/oidc/oidc/auth_url": PUBLIC, // a sign-in with the OpenID provider
  "/v1/auth/oidc/oidc/callback": PUBLIC,
  "/v1/ui/session/oidc": PUBLIC,
  "/v1/auth/oidc/config": ["admin"],
  "/v1/auth/oidc/role/{name}": ["admin"],
  "/v1/auth/oidc/role": ["admin"],
  "/v1/ui/session": PUBLIC, // a login; reading and ending one's own session: everyone with it
  "/v1/auth/userpass/mfa": ENROLMENT, // one's own second factor
  "/v1/auth/userpass/mfa/confirm": ENROLMENT,
  "/v1/sys/seal": ["admin", "operator"],
  "/v1/sys/leader": PUBLIC, // as Vault: its CLI's status reads it, sealed or not
  "/v1/sys/step-down": ["admin", "operator"], // who may seal
  "/v1/sys/backup": ["admin"],
  "/v1/sys/restore": PUBLIC, // only into an uninitialised server
  // Ceremonies: the shares are the credential, as in Vault.
  "/v1/sys/rekey/init": PUBLIC,
  "/v1/sys/rekey/update": PUBLIC,
  "/v1/sys/generate-root/attempt": PUBLIC,
  "/v1/sys/generate-root/update": PUBLIC,
  "/v1/sys/export-seed/attempt": PUBLIC, // but starting one needs an admin (test/http/custody.test.ts)
  "/v1/sys/export-seed/update": PUBLIC,
  "/v1/sys/custodians/drill": PUBLIC,
  "/v1/sys/custodians": ["admin", "operator", "auditor"],
  "/v1/sys/rotate": ["admin"],
  "/v1/sys/key-status": ["admin", "operator", "auditor"],
  "/v1/auth/token/create": ["admin"],
  "/v1/auth/token/create-orphan": ["admin"],
  "/v1/auth/token/lookup-self": ENROLMENT,
  "/v1/auth/token/renew-self": ENROLMENT, // only tokens made renewable are; never a login
  "/v1/auth/token/revoke-self": ENROLMENT,
  "/v1/auth/token/lookup": ["admin"],
  "/v1/auth/token/renew": ["admin"],
  "/v1/auth/token/renew-accessor": ["admin"],
  "/v1/auth/token/revoke": ["admin"],
  "/v1/auth/token/revoke-orphan": ["admin"],
  "/v1/auth/token/revoke-accessor": ["admin"],
  "/v1/auth/token/lookup-accessor": ["admin"],
  "/v1/auth/token/accessors": ["admin"],
  "/v1/totp/keys/{name}": ["admin"],
  "/v1/totp/keys": ["admin"],
  "/v1/totp/import/google-authenticator": ["admin"],
  "/v1/totp/code/{name}": ["admin"], // a credential without an access rule
  "/v1/totp/access/{name}": ["admin"],
  "/v1/audit": ["admin", "auditor"],
  "/v1/audit/export": ["admin", "auditor"],
  "/v1/audit/verify": ["admin", "auditor"],
  "/v1/ui/credentials": ALL, // each sees what they may read
  "/v1/auth/userpass/users/{username}": ["admin"],
  "/v1/auth/userpass/users": ["admin"],
  "/v1/auth/userpass/users/{username}/mfa": ["admin"], // an admin's reset of someone's second factor
  "/v1/auth/userpass/users/{username}/passkeys": ["admin"], // an admin's reset of someone's passkeys
  "/v1/auth/passkey/register/begin": ALL, // one's own passkeys (a person's: a machine token has none)
  "/v1/auth/passkey/register/finish": ALL,
  "/v1/auth/passkey/credentials": ALL,
  "/v1/auth/passkey/credentials/{id}": ALL,
  "/v1/auth/passkey/login/begin": PUBLIC, // the same options for every name
  "/v1/auth/passkey/step-up/begin": ALL, // then decided by the action's own rule when used
  "/v1/groups/{name}": ["admin"],
  "/v1/groups": ["admin"],
  "/v1/approvals": ALL, // then decided by each credential's rule
  "/v1/approvals/{id}": ALL,
  "/v1/approvals/{id}/approve": ALL,
  "/v1/approvals/{id}/deny": ALL,
  "/v1/sys/audit/sinks": ["admin"],
  "/v1/sys/audit/sinks/{name}": ["admin"],
  "/v1/notify/webhooks": ["admin"],
  "/v1/notify/webhooks/{name}": ["admin"],
  "/v1/notify/smtp": ["admin"],
  "/v1/notify/deliveries": ["admin"],
  "/v1/notify/dead-letters": ["admin"],
  "/v1/notify/dead-letters/redrive": ["admin"],
  "/v1/audit/sinks/deliveries": ["admin"],
  "/v1/audit/sinks/dead-letters": ["admin"],
  "/v1/audit/sinks/dead-letters/redrive": ["admin"],
  "/v1/devices": { get: ["admin", "operator", "auditor"], write: ["admin"] },
  "/v1/devices/{id}": { get: ["admin", "operator", "auditor"], write: ["admin"] },
  "/v1/devices/{id}/checkout": ALL, // then decided per device: its access rule, or admins and operators
  "/v1/devices/{id}/checkin": ALL, // whoever checked it out, operators and admins
  "/v1/coverage": ["admin", "operator", "auditor"],
};

let t: TestServer;
let root: string;
const tokens = {} as Record<Role, string>;
/** dave must enrol a second factor (require_mfa) and logged in with his password alone. */
let enrolling: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  for (const role of ROLES) {
    const password = `${role} has a long password`;
    await t.call("PUT", `/v1/auth/userpass/users/${role}-user`, { token: root, body: { password } });
    await t.call("PUT", `/v1/groups/${role}s`, {
      token: root,
      body: { members: [`${role}-user`], policies: [role] },
    });
    tokens[role] = (
      await t.call("POST", `/v1/auth/userpass/login/${role}-user`, { body: { password } })
    ).json.auth.client_token;
  }
  // In every group, named directly by a rule: still nothing until the second factor is enabled.
  const password = "dave has a long password";
  await t.call("PUT", "/v1/auth/userpass/users/dave", {
    token: root,
    body: { password, require_mfa: true, groups: ROLES.map((role) => `${role}s`) },
  });
  await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    token: root,
    body: { readers: ["user:dave"], approvers: ["user:dave"], approvals_required: 0 },
  });
  const login = await t.call("POST", "/v1/auth/userpass/login/dave", { body: { password } });
  expect(login.json.auth.policies).toEqual(["mfa-enrolment"]);
  enrolling = login.json.auth.client_token;
});
afterAll(async () => {
  await t.close();
});

describe("the endpoint × role matrix", () => {
  it("covers every endpoint of the OpenAPI document", async () => {
    const paths = Object.keys((await t.call("GET", "/v1/openapi.json")).json.paths);
    expect(paths.sort()).toEqual(Object.keys(WHO_MAY).sort());
  });

  it("refuses every role that should not have an endpoint, and changes nothing", async () => {
    const document = (await t.call("GET", "/v1/openapi.json")).json;
    const before = await snapshot();
    const refusals: string[] = [];
    for (const [path, operations] of Object.entries(
      document.paths as Record<string, Record<string, unknown>>,
    )) {
      const who = WHO_MAY[path];
      const url = path
        .replace("{name}", "aws-prod-root")
        .replace("{username}", "admin-user")
        .replace("{id}", "none");
      for (const method of Object.keys(operations)) {
        const allowed =
          who !== null && typeof who === "object" && !Array.isArray(who)
            ? who[method === "get" ? "get" : "write"]
            : who;
        if (method === "head" || allowed === PUBLIC || allowed === ENROLMENT || allowed === undefined)
          continue;
        const body = method === "get" || method === "delete" ? undefined : {};
        const asEnrolling = await t.call(method.toUpperCase(), url, { token: enrolling, body });
        if (asEnrolling.status !== 403 || asEnrolling.json?.code !== "SECOND_FACTOR_REQUIRED")
          refusals.push(
            `enrolling ${method.toUpperCase()} ${url} → ${asEnrolling.status} ${asEnrolling.text.slice(0, 80)}`,
          );
        if (allowed === ALL) continue;
        for (const role of ROLES.filter((r) => !allowed.includes(r))) {
          const response = await t.call(method.toUpperCase(), url, { token: tokens[role], body });
          if (response.status !== 403 || response.json?.code !== "PERMISSION_DENIED")
            refusals.push(
              `${role} ${method.toUpperCase()} ${url} → ${response.status} ${response.text.slice(0, 80)}`,
            );
        }
      }
    }
    expect(refusals).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("lets each role do what it is for", async () => {
    expect((await t.call("GET", "/v1/audit?limit=1", { token: tokens.auditor })).status).toBe(200);
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: tokens.admin })).status).toBe(200);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: tokens.member })).status).toBe(200);
    expect((await t.call("GET", "/v1/groups?list=true", { token: tokens.admin })).status).toBe(200);
    expect((await t.call("GET", "/v1/auth/token/accessors?list=true", { token: tokens.admin })).status).toBe(
      200,
    );
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: enrolling })).status).toBe(200);
  });

  it("lets a half-logged-in person do nothing but enrol their second factor, even where a rule names them", async () => {
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: enrolling })).status).toBe(403);
    expect((await t.call("GET", "/v1/ui/credentials", { token: enrolling })).status).toBe(403);
    const enrol = await t.call("POST", "/v1/auth/userpass/mfa", { token: enrolling, body: {} });
    expect(enrol.status).toBe(200);
    expect(enrol.json.data.url).toMatch(/^otpauth:\/\/totp\//);
  });
});

async function snapshot() {
  const get = async (path: string) => (await t.call("GET", path, { token: root })).json;
  return {
    keys: await get("/v1/totp/keys?list=true"),
    users: await get("/v1/auth/userpass/users?list=true"),
    groups: await get("/v1/groups?list=true"),
    sinks: await get("/v1/sys/audit/sinks"),
    sealed: (await get("/v1/sys/seal-status")).sealed,
    devices: await get("/v1/devices?status=in-safe"),
  };
}
