import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAtProvider, startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Sign-in with a real OpenID provider (oidc-provider on loopback), through Vault's auth/oidc API:
 * the code flow with PKCE, each kind of bad ID token refused with a clear message and audited,
 * groups mapped, a person disabled at the provider losing access at renewal, a block by an admin.
 */
describe("sign-in with an OpenID provider (auth/oidc)", () => {
  const REDIRECT = "http://localhost:8250/oidc/callback";
  let t: TestServer;
  let idp: TestProvider;
  let root: string;
  const admin = (method: string, path: string, body?: unknown) => t.call(method, path, { token: root, body });

  beforeAll(async () => {
    t = await startTestServer();
    ({ rootToken: root } = await initAndUnseal(t));
    idp = await startTestProvider({
      redirectUris: [REDIRECT],
      people: {
        "sub-alice": {
          username: "alice",
          password: "alice-pw",
          email: "alice@example.com",
          name: "Alice A",
          groups: ["sre", "staff"],
        },
        "sub-bob": { username: "bob", password: "bob-pw", groups: ["staff"] },
        "sub-carol": { username: "carol", password: "carol-pw", groups: [] },
        "sub-mallory": { username: "Mallory!", password: "m-pw" },
      },
    });
    for (const group of ["oncall", "everyone"])
      expect((await admin("PUT", `/v1/groups/${group}`, { members: [], policies: [] })).status).toBe(204);
    expect(
      (
        await admin("PUT", "/v1/auth/oidc/config", {
          oidc_discovery_url: idp.issuer,
          oidc_client_id: idp.clientId,
          oidc_client_secret: idp.clientSecret,
          default_role: "staff",
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await admin("PUT", "/v1/auth/oidc/role/staff", {
          user_claim: "preferred_username",
          groups_claim: "groups",
          allowed_redirect_uris: [REDIRECT],
          oidc_scopes: ["profile", "email", "groups", "offline_access"],
          token_policies: ["member"],
          create_users: true,
          group_mappings: { sre: "oncall", staff: "everyone" },
        })
      ).status,
    ).toBe(204);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  /** auth_url, the provider's pages, and the provider's answer (not yet given to the callback). */
  async function startSignIn(
    username: string,
    password: string,
    clientNonce = "nonce-of-this-cli-0123456789",
  ) {
    const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", {
      body: { redirect_uri: REDIRECT, client_nonce: clientNonce },
    });
    expect(started.status, started.text).toBe(200);
    const back = await signInAtProvider(started.json.data.auth_url, username, password);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    return { query: Object.fromEntries(back.searchParams), clientNonce };
  }
  const callback = (query: Record<string, string>, clientNonce: string) =>
    t.call(
      "GET",
      `/v1/auth/oidc/oidc/callback?${new URLSearchParams({ ...query, client_nonce: clientNonce })}`,
    );
  async function signIn(username: string, password: string): Promise<ApiResponse> {
    const { query, clientNonce } = await startSignIn(username, password);
    return callback(query, clientNonce);
  }
  async function lastEntry(action: string) {
    const page = await admin("GET", `/v1/audit?action=${action}&limit=1&order=newest`);
    expect(page.status, page.text).toBe(200);
    return page.json.data.entries[0];
  }

  it("asks the provider for a code with PKCE, a state and a nonce", async () => {
    const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", { body: { redirect_uri: REDIRECT } });
    const url = new URL(started.json.data.auth_url);
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    for (const name of ["code_challenge", "state", "nonce"])
      expect(url.searchParams.get(name)).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get("scope")).toBe("openid profile email groups offline_access");
  });

  it("signs alice in: a short-lived renewable token naming her, her method and her provider account; groups mapped", async () => {
    const answer = await signIn("alice", "alice-pw");
    expect(answer.status, answer.text).toBe(200);
    const { auth } = answer.json;
    expect(auth.client_token).toMatch(/^bgs\./);
    expect(auth.lease_duration).toBe(3600);
    expect(auth.renewable).toBe(true);
    expect(auth.metadata).toMatchObject({
      username: "alice",
      role: "staff",
      subject: "sub-alice",
      issuer: idp.issuer,
    });
    const self = await t.call("GET", "/v1/auth/token/lookup-self", { token: auth.client_token });
    expect(self.json.data).toMatchObject({ display_name: "oidc-alice", path: "auth/oidc/oidc/callback" });
    const user = await admin("GET", "/v1/auth/userpass/users/alice");
    expect(user.json.data).toMatchObject({
      display_name: "Alice A",
      email: "alice@example.com",
      policies: ["member"],
    });
    expect(user.json.data.groups.sort()).toEqual(["everyone", "oncall"]);
    const entry = await lastEntry("auth.oidc.login");
    expect(entry).toMatchObject({ actor: "user:alice", outcome: "allowed", token_name: "oidc-alice" });
    expect(entry.details).toMatchObject({
      method: "oidc",
      created: true,
      bound: true,
      subject: `${idp.issuer} sub-alice`,
    });
    // Every later entry names her and the method (the token's name).
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token: auth.client_token })).status).toBe(
      200,
    );
    expect(JSON.stringify(await lastEntry("token.lookup-self"))).toContain('"token_name":"oidc-alice"');
  });

  it("refuses a replayed state, and records the refusal", async () => {
    const { query, clientNonce } = await startSignIn("bob", "bob-pw");
    expect((await callback(query, clientNonce)).status).toBe(200);
    const again = await callback(query, clientNonce);
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ code: "OIDC_LOGIN_FAILED" });
    expect(again.json.errors[0]).toContain("expired or missing OAuth state");
    expect(await lastEntry("auth.oidc.login")).toMatchObject({
      outcome: "denied",
      details: { problem: expect.stringContaining("expired or missing OAuth state") },
    });
  });

  it("refuses a callback without the client_nonce given to auth_url (someone else's sign-in)", async () => {
    const { query } = await startSignIn("bob", "bob-pw");
    const stolen = await callback(query, "another-nonce-0000000000000");
    expect(stolen.status).toBe(400);
    expect(stolen.json.errors[0]).toContain("invalid client_nonce");
  });

  const badTokens: [string, (idToken: string) => Promise<string>, string][] = [
    [
      "a tampered ID token (claims changed, signature kept)",
      async (idToken) => {
        const [header, , signature] = idToken.split(".");
        const forged = Buffer.from(
          JSON.stringify({ sub: "sub-alice", preferred_username: "alice" }),
        ).toString("base64url");
        return `${header}.${forged}.${signature}`;
      },
      "token verification failed",
    ],
    ["an ID token for another audience", (idToken) => idp.resign(idToken, { aud: "someone-else" }), "aud"],
    [
      "an expired ID token",
      (idToken) =>
        idp.resign(idToken, {
          exp: Math.floor(Date.now() / 1000) - 600,
          iat: Math.floor(Date.now() / 1000) - 4000,
        }),
      "exp",
    ],
    [
      "an ID token with the wrong nonce",
      (idToken) => idp.resign(idToken, { nonce: "not-this-sign-in" }),
      "nonce",
    ],
  ];
  for (const [what, alter, message] of badTokens)
    it(`refuses ${what}, says why, and records it`, async () => {
      const { query, clientNonce } = await startSignIn("bob", "bob-pw");
      idp.alterTokens(async (body) => ({ ...body, id_token: await alter(String(body.id_token)) }));
      try {
        const refused = await callback(query, clientNonce);
        expect(refused.status, refused.text).toBe(400);
        expect(refused.json.code).toBe("OIDC_LOGIN_FAILED");
        expect(refused.json.errors[0]).toContain("token verification failed");
        expect(refused.json.errors[0]).toContain(message);
        expect(refused.text).not.toMatch(/eyJ/); // no token in the answer
      } finally {
        idp.alterTokens(null);
      }
      expect(await lastEntry("auth.oidc.login")).toMatchObject({
        outcome: "denied",
        target: "oidc-role:staff",
        details: { problem: expect.stringContaining(message) },
      });
    });

  it("refuses a role's bound_audiences that the ID token does not name", async () => {
    expect(
      (
        await admin("PUT", "/v1/auth/oidc/role/strict", {
          user_claim: "preferred_username",
          allowed_redirect_uris: [REDIRECT],
          bound_audiences: ["not-breakglass"],
        })
      ).status,
    ).toBe(204);
    const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", {
      body: { redirect_uri: REDIRECT, role: "strict" },
    });
    const back = await signInAtProvider(started.json.data.auth_url, "bob", "bob-pw");
    const refused = await t.call("GET", `/v1/auth/oidc/oidc/callback?${back.searchParams}`);
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]).toContain("bound_audiences");
  });

  it("refuses a redirect_uri the role does not allow, and a username claim that is no username", async () => {
    const elsewhere = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", {
      body: { redirect_uri: "https://attacker.example/callback" },
    });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json.errors[0]).toContain("unauthorized redirect_uri");
    const odd = await signIn("Mallory!", "m-pw");
    expect(odd.status).toBe(400);
    expect(odd.json.errors[0]).toContain("not a breakglass username");
  });

  it("never hands over a person who exists already until an admin allows their sign-in; then binds that account", async () => {
    expect(
      (
        await admin("PUT", "/v1/auth/userpass/users/dora", {
          password: "dora's own long password",
          policies: ["admin"],
        })
      ).status,
    ).toBe(204);
    idp.people.set("sub-dora-lookalike", { username: "dora", password: "chosen-at-the-provider" });
    const taken = await signIn("dora", "chosen-at-the-provider");
    expect(taken.status).toBe(400);
    expect(taken.json.errors[0]).toContain("user:dora exists and may not sign in with the provider");
    expect((await admin("GET", "/v1/auth/userpass/users/dora")).json.data).toMatchObject({ sso: false });
    expect((await admin("PUT", "/v1/auth/userpass/users/dora", { sso: true })).status).toBe(204);
    const allowed = await signIn("dora", "chosen-at-the-provider");
    expect(allowed.status, allowed.text).toBe(200);
    expect(allowed.json.auth.metadata).toMatchObject({ username: "dora", subject: "sub-dora-lookalike" });
    // Bound now: another provider account claiming her name is refused.
    idp.people.set("sub-dora-other", { username: "dora", password: "another" });
    idp.people.delete("sub-dora-lookalike");
    const other = await signIn("dora", "another");
    expect(other.status).toBe(400);
    expect(other.json.errors[0]).toContain("user:dora is bound to another provider account");
  });

  it("the web UI's end refuses a sign-in started without a client_nonce (someone else's, carried here)", async () => {
    const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", { body: { redirect_uri: REDIRECT } });
    const back = await signInAtProvider(started.json.data.auth_url, "bob", "bob-pw");
    const carried = await t.call("POST", "/v1/ui/session/oidc", {
      headers: { "content-type": "application/json" },
      body: { ...Object.fromEntries(back.searchParams), client_nonce: "a-victim-tabs-nonce-000" },
    });
    expect(carried.status).toBe(400);
    expect(carried.json.errors[0]).toContain("started without one");
    expect(carried.headers.get("set-cookie")).toBeNull();
  });

  it("takes up a rotated signing key at the next sign-in", async () => {
    const before = idp.currentKid();
    await idp.rotateKey();
    expect(idp.currentKid()).not.toBe(before);
    const answer = await signIn("bob", "bob-pw");
    expect(answer.status, answer.text).toBe(200);
  });

  it("renews through the provider; a person disabled there loses access at the next renewal", async () => {
    const answer = await signIn("carol", "carol-pw");
    const token = answer.json.auth.client_token;
    const renewed = await t.call("POST", "/v1/auth/token/renew-self", { token, body: {} });
    expect(renewed.status, renewed.text).toBe(200);
    expect(await lastEntry("auth.oidc.renew")).toMatchObject({ outcome: "allowed", target: "user:carol" });
    (idp.people.get("sub-carol") as { disabled?: boolean }).disabled = true;
    const refused = await t.call("POST", "/v1/auth/token/renew-self", { token, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toContain("no longer vouches for user:carol");
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).status).toBe(403);
    expect(await lastEntry("auth.oidc.renew")).toMatchObject({ outcome: "denied", target: "user:carol" });
  });

  it("follows the provider's groups at renewal", async () => {
    const answer = await signIn("bob", "bob-pw");
    const token = answer.json.auth.client_token;
    expect((await admin("GET", "/v1/auth/userpass/users/bob")).json.data.groups).toEqual(["everyone"]);
    (idp.people.get("sub-bob") as { groups: string[] }).groups = ["sre"];
    expect((await t.call("POST", "/v1/auth/token/renew-self", { token, body: {} })).status).toBe(200);
    expect((await admin("GET", "/v1/auth/userpass/users/bob")).json.data.groups).toEqual(["oncall"]);
  });

  it("an admin's block ends the person's tokens at once and refuses their next sign-in", async () => {
    const answer = await signIn("alice", "alice-pw");
    const token = answer.json.auth.client_token;
    expect((await admin("POST", "/v1/auth/userpass/users/alice", { disabled: true })).status).toBe(204);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).status).toBe(403);
    const again = await signIn("alice", "alice-pw");
    expect(again.status).toBe(400);
    expect(again.json.errors[0]).toContain("blocked by an admin");
    expect((await admin("POST", "/v1/auth/userpass/users/alice", { disabled: false })).status).toBe(204);
    expect((await signIn("alice", "alice-pw")).status).toBe(200);
  });

  it("never shows the client secret, and only admins configure", async () => {
    const config = await admin("GET", "/v1/auth/oidc/config");
    expect(config.json.data).toMatchObject({ oidc_client_id: "breakglass", has_client_secret: true });
    expect(config.text).not.toContain(idp.clientSecret);
    expect(
      (
        await t.call("PUT", "/v1/auth/oidc/config", {
          body: { oidc_discovery_url: "x", oidc_client_id: "y" },
        })
      ).status,
    ).toBe(403);
    const bob = (await signIn("bob", "bob-pw")).json.auth.client_token;
    expect(
      (
        await t.call("PUT", "/v1/auth/oidc/role/mine", {
          token: bob,
          body: { user_claim: "sub", allowed_redirect_uris: [REDIRECT] },
        })
      ).status,
    ).toBe(403);
    const insecure = await admin("PUT", "/v1/auth/oidc/config", {
      oidc_discovery_url: "http://idp.example.com",
      oidc_client_id: "x",
    });
    expect(insecure.status).toBe(400);
    expect(insecure.json.errors[0]).toContain("https");
    const rootRole = await admin("PUT", "/v1/auth/oidc/role/god", {
      user_claim: "sub",
      allowed_redirect_uris: [REDIRECT],
      token_policies: ["root"],
    });
    expect(rootRole.status).toBe(400);
    expect(t.log()).not.toContain(idp.clientSecret);
  });

  it("answers 503 while the provider cannot be reached, and nothing is released", async () => {
    const down = await startTestProvider({ redirectUris: [REDIRECT], people: {} });
    const issuer = down.issuer;
    expect(
      (
        await admin("PUT", "/v1/auth/oidc/config", {
          oidc_discovery_url: issuer,
          oidc_client_id: down.clientId,
          oidc_client_secret: down.clientSecret,
          default_role: "staff",
        })
      ).status,
    ).toBe(204);
    await down.close();
    const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", { body: { redirect_uri: REDIRECT } });
    expect(started.status).toBe(503);
    expect(started.json.code).toBe("PROVIDER_UNAVAILABLE");
    expect(
      (
        await admin("PUT", "/v1/auth/oidc/config", {
          oidc_discovery_url: idp.issuer,
          oidc_client_id: idp.clientId,
          oidc_client_secret: idp.clientSecret,
          default_role: "staff",
        })
      ).status,
    ).toBe(204);
  });
});
