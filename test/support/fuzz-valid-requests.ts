import fc from "fast-check";
import { type JsonSchema, valueFor } from "./fuzz-json.js";
import { FIXTURES } from "./fuzz-server.js";
import { migrationUri } from "./google-export.js";

/**
 * A request each route accepts, for the HTTP fuzzers to change one field of: a body made of
 * random fields rarely gets every field right at once, and so rarely gets past validation into
 * the service. Accepted requests here reach nothing outside (webhooks and mail go to port 9 on
 * loopback, which refuses them); audit sinks are left out, as an accepted one would write files.
 */

const LOGIN = { username: FIXTURES.user, password: "correct horse battery staple" };

/** A body each write route accepts (on the fixtures of fuzz-server.ts), by path. */
export const VALID_BODIES: Record<string, Record<string, unknown>> = {
  "/v1/sys/init": { secret_shares: 3, secret_threshold: 2 },
  "/v1/sys/unseal": { key: "00".repeat(33) },
  "/v1/sys/rekey/init": { secret_shares: 3, secret_threshold: 2, custodians: ["a", "b", "c"] },
  "/v1/sys/rekey/update": { key: "00".repeat(33), nonce: "00000000-0000-0000-0000-000000000000" },
  "/v1/sys/generate-root/attempt": {},
  "/v1/sys/custodians/drill": { key: "00".repeat(33) },
  "/v1/auth/token/create": { policies: ["default"], display_name: "fuzz", ttl: "1h", meta: { team: "x" } },
  "/v1/totp/keys/{name}": {
    key: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    issuer: "Fuzz",
    account_name: "x",
    algorithm: "SHA256",
    digits: 8,
    period: 60,
    skew: 0,
  },
  "/v1/totp/import/google-authenticator": {
    url: migrationUri([{ secret: new Uint8Array(20).fill(1), name: "Fuzz:x", issuer: "Fuzz" }]),
    prefix: "imported-",
  },
  "/v1/totp/code/{name}": { code: "123456" },
  "/v1/auth/userpass/users/{username}": {
    password: "another long password",
    policies: ["member"],
    groups: [FIXTURES.group],
    display_name: "Fuzz",
    email: "fuzz@acme.example",
    require_mfa: false,
  },
  "/v1/auth/userpass/login/{username}": { password: LOGIN.password },
  "/v1/auth/userpass/mfa/confirm": { code: "123456" },
  "/v1/groups/{name}": { members: [FIXTURES.user], policies: ["auditor"] },
  "/v1/totp/access/{name}": {
    readers: [`group:${FIXTURES.group}`],
    approvers: [`user:${FIXTURES.user}`],
    approvals_required: 1,
    require_reason: true,
    approval_ttl: "15m",
    notify: [],
  },
  "/v1/approvals": { key: FIXTURES.key, reason: "INC-1" },
  "/v1/approvals/{id}/approve": { comment: "ok" },
  "/v1/approvals/{id}/deny": { comment: "no" },
  "/v1/devices": {
    kind: "fido2",
    serial: "SN-2",
    label: "a key",
    protects: [FIXTURES.key],
    location: "Safe A",
    custodian: "Dan",
    battery_expires: "2031-01-01",
  },
  "/v1/devices/{id}": { label: "renamed", review_by: "2031-06-01", notes: "looked at" },
  "/v1/devices/{id}/checkout": { reason: "INC-1" },
  "/v1/devices/{id}/checkin": { reason: "back" },
  "/v1/notify/webhooks/{name}": { url: "https://127.0.0.1:9/hook", events: "*" },
  "/v1/notify/smtp": { host: "127.0.0.1", port: 9, from: "bg@acme.example", to: ["team@acme.example"] },
  "/v1/notify/dead-letters/redrive": { destination: "smtp", seq: 1 },
  "/v1/audit/sinks/dead-letters/redrive": { destination: "sink:siem", seq: 1 },
  "/v1/ui/session": LOGIN,
  // No provider answers on port 9: these get as far as the service, which refuses them clearly.
  "/v1/auth/oidc/config": {
    oidc_discovery_url: "https://127.0.0.1:9",
    oidc_client_id: "breakglass",
    oidc_client_secret: "a client secret",
    default_role: "staff",
  },
  "/v1/auth/oidc/role/{name}": {
    user_claim: "preferred_username",
    groups_claim: "groups",
    allowed_redirect_uris: ["http://localhost:8250/oidc/callback"],
    oidc_scopes: ["profile"],
    token_ttl: "1h",
    token_policies: ["member"],
    create_users: true,
    group_mappings: { sre: FIXTURES.group },
  },
  "/v1/auth/oidc/oidc/auth_url": {
    role: "staff",
    redirect_uri: "http://localhost:8250/oidc/callback",
    client_nonce: "n",
  },
  "/v1/ui/session/oidc": { state: "a-state", code: "a-code", client_nonce: "0123456789abcdef" },
  "/v1/auth/passkey/login/begin": { username: FIXTURES.user },
  "/v1/auth/passkey/step-up/begin": { action: "totp.code.read", target: FIXTURES.key },
  "/v1/auth/passkey/credentials/{id}": { name: "laptop" },
  "/v1/auth/passkey/register/finish": {
    credential: {
      id: "AAAA",
      rawId: "AAAA",
      type: "public-key",
      response: { clientDataJSON: "e30", attestationObject: "oA", transports: ["internal"] },
      clientExtensionResults: {},
    },
    name: "laptop",
  },
};

/** A query each GET route with parameters accepts, by path (values as typed in a URL). */
export const VALID_QUERIES: Record<string, Record<string, string>> = {
  "/v1/sys/health": { standbyok: "true", activecode: "200", sealedcode: "503" },
  "/v1/totp/code/{name}": { reason: "INC-1", enroll: "true" },
  "/v1/audit": {
    since: "2020-01-01T00:00:00Z",
    until: "2999-01-01T00:00:00Z",
    actor: "anonymous",
    outcome: "denied",
    q: "INC",
    after: "1",
    limit: "10",
  },
  "/v1/audit/export": { since: "2020-01-01T00:00:00Z", action: "sys.unseal", limit: "100" },
  "/v1/approvals": { status: "pending", mine: "true" },
  "/v1/devices": { status: "in-safe", due_within: "60d" },
  "/v1/devices/{id}": { reason: "INC-1" },
  "/v1/coverage": { due_within: "30d" },
  "/v1/totp/keys": { list: "true" },
  "/v1/auth/oidc/oidc/callback": {
    state: "a-state",
    code: "a-code",
    client_nonce: "n",
    iss: "https://idp.example",
  },
  "/v1/auth/oidc/role": { list: "true" },
};

/** `valid` as it is, with one field replaced by a value of its kind (or any), or one field left out. */
export function oneFieldChanged<T>(
  valid: Record<string, T>,
  changedValue: (field: string) => fc.Arbitrary<T>,
  fields: string[] = Object.keys(valid),
): fc.Arbitrary<Record<string, T>> {
  if (fields.length === 0) return fc.constant(valid);
  const replaced = fc
    .constantFrom(...fields)
    .chain((field) => changedValue(field).map((value): Record<string, T> => ({ ...valid, [field]: value })));
  const present = Object.keys(valid);
  if (present.length === 0) return fc.oneof(fc.constant(valid), replaced);
  const leftOut = fc
    .constantFrom(...present)
    .map(
      (left): Record<string, T> =>
        Object.fromEntries(Object.entries(valid).filter(([field]) => field !== left)),
    );
  return fc.oneof(fc.constant(valid), replaced, leftOut);
}

/** A body for a write route with a valid one: that body with one field changed, by the route's schema. */
export function nearlyValidBody(path: string, schema: JsonSchema | undefined): fc.Arbitrary<unknown> | null {
  const valid = VALID_BODIES[path];
  if (!valid || !schema) return null;
  const fields = [...new Set([...Object.keys(valid), ...Object.keys(schema?.properties ?? {})])];
  return oneFieldChanged<unknown>(valid, (field) => valueFor(schema?.properties?.[field] ?? {}), fields);
}
