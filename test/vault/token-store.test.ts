import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Vault's token store tests (hashicorp/vault vault/token_store_test.go), ported to what shows over
 * HTTP: each test is named after Vault's test function. Where breakglass differs on purpose, the
 * test asserts breakglass's behaviour and its name starts with `deviation:`.
 */

let t: TestServer;
let root: string;
let admin: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  const password = "ada has a long password";
  await t.call("PUT", "/v1/auth/userpass/users/ada", { token: root, body: { password } });
  await t.call("PUT", "/v1/groups/admins", { token: root, body: { members: ["ada"], policies: ["admin"] } });
  admin = (await t.call("POST", "/v1/auth/userpass/login/ada", { body: { password } })).json.auth
    .client_token;
});
afterAll(async () => {
  await t.close();
});

const create = (token: string, body: Record<string, unknown> = {}, path = "create") =>
  t.call("POST", `/v1/auth/token/${path}`, { token, body });
const made = async (token: string, body: Record<string, unknown> = {}, path = "create") => {
  const response = await create(token, body, path);
  expect(response.status, response.text).toBe(200);
  return response.json.auth as { client_token: string; accessor: string } & Record<string, unknown>;
};
const lookupSelf = (token: string) => t.call("GET", "/v1/auth/token/lookup-self", { token });
const lookup = (token: string) => t.call("POST", "/v1/auth/token/lookup", { token: root, body: { token } });
const post = (path: string, token: string, body: Record<string, unknown> = {}) =>
  t.call("POST", `/v1/auth/token/${path}`, { token, body });
const refusal = (response: { status: number; json: { errors?: string[] } }) => ({
  status: response.status,
  error: response.json.errors?.[0],
});
/** A created token's lookup as Vault answers it, minus what depends on the moment. */
const stable = (data: Record<string, unknown>) => {
  const { creation_time, issue_time, expire_time, ttl, ...rest } = data;
  expect(creation_time).toBeGreaterThan(0);
  return { ...rest, ttl: ttl === 3599 ? 3600 : ttl };
};

describe("creating tokens (token/create)", () => {
  it("TestTokenStore_HandleRequest_CreateToken", async () => {
    expect((await made(root, { policies: ["totp-reader"] })).client_token).toMatch(/^bgs\./);
  });

  it("TestTokenStore_HandleRequest_CreateToken_DisplayName", async () => {
    const token = await made(root, { display_name: "foo_bar.baz!" });
    expect((await lookupSelf(token.client_token)).json.data).toMatchObject({
      policies: ["root"],
      path: "auth/token/create",
      display_name: "token-foo-bar-baz",
      ttl: 0,
      orphan: false,
    });
  });

  it("TestTokenStore_HandleRequest_CreateToken_NoPolicy", async () => {
    const token = await made(root);
    expect((await lookupSelf(token.client_token)).json.data).toMatchObject({
      policies: ["root"],
      path: "auth/token/create",
      display_name: "token",
      num_uses: 0,
      ttl: 0,
    });
  });

  it("TestTokenStore_NoDefaultPolicy: default is added unless no_default_policy", async () => {
    expect((await made(root, { policies: ["totp-reader"] })).policies).toEqual(["default", "totp-reader"]);
    expect((await made(root, { policies: ["totp-reader"], no_default_policy: true })).policies).toEqual([
      "totp-reader",
    ]);
  });

  it("deviation: TestTokenStore_NoDefaultPolicy — without default a token still looks itself up and revokes itself", async () => {
    const token = await made(root, { policies: ["totp-reader"], no_default_policy: true });
    expect((await lookupSelf(token.client_token)).json.data.policies).toEqual(["totp-reader"]);
    expect((await post("revoke-self", token.client_token)).status).toBe(204);
    expect((await lookupSelf(token.client_token)).status).toBe(403);
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_NumUses — a use limit is refused, not kept", async () => {
    expect(refusal(await create(root, { num_uses: 1 }))).toEqual({
      status: 400,
      error: "num_uses is not supported: tokens have no use limit (give a ttl, or revoke the token)",
    });
  });

  it("TestTokenStore_HandleRequest_CreateToken_NumUses_Invalid", async () => {
    expect((await create(root, { num_uses: -1 })).status).toBe(400);
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_RootID — a caller-chosen token is refused", async () => {
    expect(refusal(await create(root, { id: "foobar", policies: ["totp-reader"] }))).toEqual({
      status: 400,
      error: "a caller-chosen token (id) is not supported: every token is 32 random bytes made by the server",
    });
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_NonRoot_RootChild — 403 from the role check, not 400", async () => {
    expect(refusal(await create(admin, { policies: ["root"], ttl: "1h" }))).toEqual({
      status: 403,
      error: "permission denied: a token cannot be given roles beyond its maker's: root",
    });
  });

  it("TestTokenStore_HandleRequest_CreateToken_Root_RootChild", async () => {
    expect((await made(root)).policies).toEqual(["root"]);
  });

  it("TestTokenStore_HandleRequest_CreateToken_Root_RootChild_NoExpiry_Expiry (an orphan of an expiring token)", async () => {
    const expiring = await made(root, { ttl: "5m" });
    expect(expiring).toMatchObject({ policies: ["root"], lease_duration: 300 });
    expect(refusal(await create(expiring.client_token, { ttl: "0", no_parent: true }))).toEqual({
      status: 400,
      error: "expiring tokens cannot create non-expiring tokens: give it a ttl",
    });
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_Root_RootChild_NoExpiry_Expiry — a child without ttl takes its parent's expiry", async () => {
    const expiring = await made(root, { ttl: "5m" });
    const child = await made(expiring.client_token, { ttl: "0" });
    expect(child.lease_duration).toBeGreaterThan(295);
    expect((await lookupSelf(child.client_token)).json.data.expire_time).toBe(
      (await lookupSelf(expiring.client_token)).json.data.expire_time,
    );
  });

  it("TestTokenStore_HandleRequest_CreateToken_Root_NoParent", async () => {
    const token = await made(root, { no_parent: true, policies: ["totp-reader"] });
    expect(token.orphan).toBe(true);
    expect((await lookupSelf(token.client_token)).json.data.orphan).toBe(true);
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_NonRoot_NoParent — an admin may make orphans (admins hold Vault's sudo)", async () => {
    expect((await made(admin, { no_parent: true, policies: ["totp-reader"], ttl: "1h" })).orphan).toBe(true);
  });

  it("TestTokenStore_HandleRequest_CreateToken_PathBased_NoParent", async () => {
    const token = await made(root, { policies: ["totp-reader"] }, "create-orphan");
    expect((await lookupSelf(token.client_token)).json.data).toMatchObject({
      orphan: true,
      path: "auth/token/create-orphan",
    });
  });

  it("TestTokenStore_HandleRequest_CreateToken_Metadata", async () => {
    const meta = { user: "armon", source: "github" };
    const token = await made(root, { policies: ["totp-reader"], meta });
    expect((await lookupSelf(token.client_token)).json.data.meta).toEqual(meta);
  });

  it("TestTokenStore_HandleRequest_CreateToken_Lease", async () => {
    expect(await made(root, { policies: ["totp-reader"], lease: "1h" })).toMatchObject({
      lease_duration: 3600,
      renewable: true,
    });
  });

  it("TestTokenStore_HandleRequest_CreateToken_TTL", async () => {
    expect(await made(root, { policies: ["totp-reader"], ttl: "1h" })).toMatchObject({
      lease_duration: 3600,
      renewable: true,
    });
  });

  it("deviation: TestTokenStore_HandleRequest_CreateToken_TTL — batch tokens are refused", async () => {
    expect(refusal(await create(root, { policies: ["totp-reader"], ttl: "1h", type: "batch" }))).toEqual({
      status: 400,
      error: "batch tokens are not supported: breakglass makes service tokens only, each one revocable",
    });
  });

  it("deviation: periodic tokens (Vault's period) are refused", async () => {
    expect((await create(root, { period: "24h" })).status).toBe(400);
  });

  it("explicit_max_ttl caps the ttl and stands for it when none is given (Vault's CalculateTTL)", async () => {
    expect(
      (await made(root, { policies: ["totp-reader"], ttl: "2h", explicit_max_ttl: "1h" })).lease_duration,
    ).toBe(3600);
    const capped = await made(root, { policies: ["totp-reader"], explicit_max_ttl: 600 });
    expect(capped.lease_duration).toBe(600);
    expect((await lookupSelf(capped.client_token)).json.data).toMatchObject({
      explicit_max_ttl: 600,
      creation_ttl: 600,
    });
  });
});

describe("looking tokens up", () => {
  it("TestTokenStore_HandleRequest_Lookup (the root token, then a created one, then renewed)", async () => {
    const rootLookup = await lookup(root);
    expect(rootLookup.status).toBe(200);
    const { creation_time, owner, ...rootData } = rootLookup.json.data;
    expect(creation_time).toBeGreaterThan(0);
    expect(owner).toBe(`token:${rootData.accessor}`);
    expect(rootData).toEqual({
      accessor: rootData.accessor,
      policies: ["root"],
      path: "auth/token/root",
      meta: null,
      display_name: "root",
      orphan: true,
      num_uses: 0,
      creation_ttl: 0,
      ttl: 0,
      explicit_max_ttl: 0,
      expire_time: null,
      entity_id: "",
      type: "service",
    });

    const client = await made(root, { policies: ["totp-reader"], ttl: "3600s" });
    const data = (await lookup(client.client_token)).json.data;
    expect(Date.parse(data.issue_time)).toBeGreaterThan(0);
    expect(Date.parse(data.expire_time)).toBeGreaterThan(Date.now());
    expect(stable(data)).toEqual({
      accessor: client.accessor,
      policies: ["default", "totp-reader"],
      path: "auth/token/create",
      meta: null,
      display_name: "token",
      orphan: false,
      num_uses: 0,
      creation_ttl: 3600,
      ttl: 3600,
      explicit_max_ttl: 0,
      renewable: true,
      entity_id: "",
      type: "service",
      owner: data.owner,
    });
    expect((await post("renew", root, { token: client.client_token })).status).toBe(200);
    expect((await lookup(client.client_token)).json.data.last_renewal_time).toBeGreaterThan(0);
  });

  it("deviation: TestTokenStore_HandleRequest_Lookup — no id (the token itself is never repeated); an unknown token is 403 bad token as Vault", async () => {
    const client = await made(root, { policies: ["totp-reader"] });
    const response = await lookup(client.client_token);
    expect(response.json.data).not.toHaveProperty("id");
    expect(response.text).not.toContain(client.client_token);
    expect(refusal(await lookup("bgs.unknown"))).toEqual({ status: 403, error: "bad token" });
  });

  it("TestTokenStore_HandleRequest_LookupSelf", async () => {
    const client = await made(root, { policies: ["totp-reader"], ttl: "3600s" });
    const data = (await lookupSelf(client.client_token)).json.data;
    expect(stable(data)).toMatchObject({
      accessor: client.accessor,
      policies: ["default", "totp-reader"],
      path: "auth/token/create",
      meta: null,
      display_name: "token",
      orphan: false,
      renewable: true,
      num_uses: 0,
      creation_ttl: 3600,
      ttl: 3600,
      explicit_max_ttl: 0,
      entity_id: "",
      type: "service",
    });
  });

  it("a login's lookup names its login path", async () => {
    expect((await lookupSelf(admin)).json.data).toMatchObject({
      path: "auth/userpass/login/ada",
      meta: { username: "ada" },
      renewable: false,
    });
  });

  it("deviation: TestTokenStore_HandleRequest_LookupAccessor — no id field at all (Vault: an empty id)", async () => {
    const client = await made(root, { policies: ["totp-reader"] });
    const response = await post("lookup-accessor", root, { accessor: client.accessor });
    expect(response.json.data.accessor).toBe(client.accessor);
    expect(response.json.data).not.toHaveProperty("id");
  });
});

describe("revoking tokens", () => {
  it("TestTokenStore_HandleRequest_Revoke (the child's children go with it)", async () => {
    const child = await made(root, { policies: ["admin"] });
    const subChild = await made(child.client_token, { policies: ["totp-reader"] });
    expect((await post("revoke", root, { token: child.client_token })).status).toBe(204);
    for (const token of [child, subChild]) expect((await lookupSelf(token.client_token)).status).toBe(403);
  });

  it("TestTokenStore_HandleRequest_RevokeOrphan (the children become orphans)", async () => {
    const child = await made(root, { policies: ["admin"] });
    const subChild = await made(child.client_token, { policies: ["totp-reader"] });
    expect((await post("revoke-orphan", root, { token: child.client_token })).status).toBe(204);
    expect((await lookupSelf(child.client_token)).status).toBe(403);
    expect((await lookupSelf(subChild.client_token)).json.data).toMatchObject({ orphan: true });
    expect(refusal(await post("revoke-orphan", root, { token: child.client_token }))).toEqual({
      status: 400,
      error: "token to revoke not found",
    });
    const entry = (
      await t.call("GET", "/v1/audit?action=token.revoke-orphan&outcome=allowed", { token: root })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({ target: `token:${child.accessor}`, details: { orphaned: 1 } });
  });

  it("deviation: TestTokenStore_HandleRequest_RevokeOrphan_NonRoot — 403 before the body is read, not 400", async () => {
    const child = await made(root, { policies: ["totp-reader"] });
    expect((await post("revoke-orphan", child.client_token, { token: child.client_token })).status).toBe(403);
    expect((await lookupSelf(child.client_token)).status).toBe(200);
  });

  it("TestTokenStore_HandleRequest_RevokeAccessor", async () => {
    const token = await made(root, { policies: ["totp-reader"], ttl: "1h" });
    expect((await post("revoke-accessor", root, { accessor: token.accessor })).status).toBe(204);
    expect((await lookupSelf(token.client_token)).status).toBe(403);
  });

  it("TestTokenStore_RevokeSelf (revoke-self takes the whole tree)", async () => {
    const ent1 = await made(root, { policies: ["admin"] });
    const ent2 = await made(ent1.client_token, { policies: ["admin"] });
    const ent3 = await made(ent2.client_token, { policies: ["totp-reader"] });
    const ent4 = await made(ent2.client_token, { policies: ["totp-reader"] });
    expect((await post("revoke-self", ent1.client_token)).status).toBe(204);
    for (const token of [ent1, ent2, ent3, ent4])
      expect((await lookupSelf(token.client_token)).status).toBe(403);
  });
});

describe("renewing tokens", () => {
  const expiry = async (token: string) => Date.parse((await lookupSelf(token)).json.data.expire_time);

  it("TestTokenStore_HandleRequest_Renew", async () => {
    const token = await made(root, { policies: ["totp-reader"], ttl: "10m" });
    const original = await expiry(token.client_token);
    const beforeRenew = Date.now();
    const renewed = await post("renew", root, { token: token.client_token, increment: "3600s" });
    expect(renewed.status).toBe(200);
    expect(renewed.json.auth).toMatchObject({
      accessor: token.accessor,
      lease_duration: 3600,
      renewable: true,
    });
    const after = await expiry(token.client_token);
    expect(after).toBeGreaterThan(original);
    expect(after).toBeGreaterThanOrEqual(Math.floor(beforeRenew / 1000) * 1000 + 3600_000 - 1000);
  });

  it("TestTokenStore_HandleRequest_RenewSelf", async () => {
    const token = await made(root, { policies: ["totp-reader"], ttl: "10m" });
    const original = await expiry(token.client_token);
    const renewed = await post("renew-self", token.client_token, { increment: 3600 });
    expect(renewed.status).toBe(200);
    expect(await expiry(token.client_token)).toBeGreaterThan(original);
    expect(renewed.text).not.toContain(token.client_token);
    const entry = (
      await t.call("GET", "/v1/audit?action=token.renew-self", { token: root })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({ target: `token:${token.accessor}`, outcome: "allowed" });
  });

  it("renew-accessor, and without increment the ttl it was made with (increment null or empty is not given, as Vault reads it)", async () => {
    const token = await made(root, { policies: ["totp-reader"], ttl: "10m" });
    for (const increment of [undefined, null, ""]) {
      const renewed = await post("renew-accessor", root, { accessor: token.accessor, increment });
      expect(renewed.json.auth.lease_duration).toBe(600);
    }
  });

  it("a renewal never goes past explicit_max_ttl (768h from creation without one, as max_lease_ttl) nor the parent's expiry", async () => {
    const capped = await made(root, { policies: ["totp-reader"], ttl: "10m", explicit_max_ttl: "20m" });
    expect(
      (await post("renew-self", capped.client_token, { increment: "8h" })).json.auth.lease_duration,
    ).toBeLessThanOrEqual(1200);
    // Without explicit_max_ttl, Vault's max_lease_ttl (768h from creation) still holds.
    const unbounded = await made(root, { policies: ["totp-reader"], ttl: "10m" });
    const created = (await lookupSelf(unbounded.client_token)).json.data.creation_time * 1000;
    await post("renew-self", unbounded.client_token, { increment: "10000h" });
    expect(await expiry(unbounded.client_token)).toBeLessThanOrEqual(created + 1000 + 768 * 3_600_000);
    const parent = await made(root, { policies: ["admin"], ttl: "15m" });
    const child = await made(parent.client_token, { policies: ["totp-reader"], ttl: "10m" });
    await post("renew-self", child.client_token, { increment: "8h" });
    expect(await expiry(child.client_token)).toBe(await expiry(parent.client_token));
  });

  it("a token made with renewable false, the root token and a login are not renewable (Vault's lease is not renewable)", async () => {
    const fixed = await made(root, { policies: ["totp-reader"], ttl: "10m", renewable: false });
    for (const token of [fixed.client_token, root, admin])
      expect(refusal(await post("renew-self", token))).toEqual({
        status: 400,
        error: "lease is not renewable",
      });
    expect(refusal(await post("renew", root, { token: "bgs.unknown" }))).toEqual({
      status: 400,
      error: "token not found",
    });
  });
});
