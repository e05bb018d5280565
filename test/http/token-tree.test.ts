import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { openRawDatabase } from "../support/storage.js";

/**
 * Vault's token tree (issue 14, finding 3): a token made by a token is its child, never outlives
 * it and ends with it; every token may look itself up and revoke itself; admins revoke, look up
 * and list by accessor; deleting a person ends every token they answer for.
 */

let t: TestServer;
let root: string;
const password = "erin has a long password";

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  await t.call("PUT", "/v1/auth/userpass/users/erin", { token: root, body: { password } });
  await t.call("PUT", "/v1/groups/admins", { token: root, body: { members: ["erin"], policies: ["admin"] } });
});
afterAll(async () => {
  await t.close();
});

const loginErin = async () =>
  (await t.call("POST", "/v1/auth/userpass/login/erin", { body: { password } })).json.auth;
const create = (token: string, body: Record<string, unknown>) =>
  t.call("POST", "/v1/auth/token/create", { token, body });
const lookupSelf = (token: string) => t.call("GET", "/v1/auth/token/lookup-self", { token });
const readCode = (token: string) => t.call("GET", "/v1/totp/code/aws-prod-root", { token });
/** A cookie-authenticated request as the web UI's own page makes it. */
const asPage = (cookie: string) => ({ cookie: `bg_session=${cookie}`, "sec-fetch-site": "same-origin" });

describe("every token", () => {
  it("may look itself up and revoke itself, whatever its roles (a totp-reader token too)", async () => {
    const reader = (await create(root, { policies: ["totp-reader"], display_name: "ci" })).json.auth;
    expect((await lookupSelf(reader.client_token)).json.data).toMatchObject({
      accessor: reader.accessor,
      policies: ["default", "totp-reader"],
    });
    expect((await t.call("POST", "/v1/auth/token/revoke-self", { token: reader.client_token })).status).toBe(
      204,
    );
    expect((await readCode(reader.client_token)).status).toBe(403);
  });
});

describe("the token tree", () => {
  it("revoking a token revokes its children and theirs; an orphan (no_parent) survives", async () => {
    const parent = (await create(root, { policies: ["admin"], display_name: "parent" })).json.auth;
    const child = (await create(parent.client_token, { policies: ["admin"] })).json.auth;
    const grandchild = (await create(child.client_token, { policies: ["totp-reader"] })).json.auth;
    const orphan = (await create(parent.client_token, { policies: ["totp-reader"], no_parent: true })).json
      .auth;
    expect(child.orphan).toBe(false);
    expect(orphan.orphan).toBe(true);
    expect((await readCode(child.client_token)).status).toBe(200);
    expect((await t.call("POST", "/v1/auth/token/revoke-self", { token: parent.client_token })).status).toBe(
      204,
    );
    for (const token of [parent, child, grandchild])
      expect((await lookupSelf(token.client_token)).status, token.accessor).toBe(403);
    expect((await readCode(orphan.client_token)).status).toBe(200);
    const entry = (
      await t.call("GET", "/v1/audit?action=token.revoke-self", { token: root })
    ).json.data.entries.at(-1);
    expect(entry).toMatchObject({ target: `token:${parent.accessor}`, details: { revoked: 3 } });
  });

  it("a child never outlives its parent: its expiry is capped at the parent's, and it ends when the parent expires", async () => {
    const parent = (await create(root, { policies: ["admin"], ttl: "3s" })).json.auth;
    const child = (await create(parent.client_token, { policies: ["totp-reader"], ttl: "8h" })).json.auth;
    expect(child.lease_duration).toBeLessThanOrEqual(3);
    const forever = (await create(parent.client_token, { policies: ["totp-reader"] })).json.auth;
    expect((await lookupSelf(forever.client_token)).json.data.expire_time).toBe(
      (await lookupSelf(parent.client_token)).json.data.expire_time,
    );
    t.clock.advance(3200);
    for (const token of [parent, child, forever])
      expect((await readCode(token.client_token)).status).toBe(403);
  });

  it("a child whose parent is gone is refused, even if the parent was removed behind this node's back", async () => {
    const parent = (await create(root, { policies: ["admin"] })).json.auth;
    const child = (await create(parent.client_token, { policies: ["totp-reader"] })).json.auth;
    expect((await readCode(child.client_token)).status).toBe(200);
    // Another node revoking the parent while this child was being made: the child's row remains.
    const raw = await openRawDatabase(t.storage);
    try {
      await raw.run("delete from tokens where accessor = ?", [parent.accessor]);
    } finally {
      await raw.close();
    }
    t.clock.advance(1100); // past this node's token cache
    const refused = await readCode(child.client_token);
    expect(refused.status).toBe(403);
    const denial = (
      await t.call("GET", "/v1/audit?action=totp.code.read&outcome=denied", { token: root })
    ).json.data.entries.at(-1);
    expect(denial.details).toEqual({ problem: "a token it was made from was revoked" });
  });

  it("a browser session opened with a pasted token ends when that token revokes itself", async () => {
    const pasted = (await create(root, { policies: ["admin"], display_name: "pasted" })).json.auth;
    const opened = await t.call("POST", "/v1/ui/session", {
      body: { token: pasted.client_token },
      headers: { "content-type": "application/json", "sec-fetch-site": "same-origin" },
    });
    expect(opened.status).toBe(200);
    const cookie = /bg_session=([^;]+)/.exec(opened.headers.get("set-cookie") ?? "")?.[1] as string;
    expect((await t.call("GET", "/v1/ui/session", { headers: asPage(cookie) })).json.data).not.toBeNull();
    expect((await lookupSelf(cookie)).json.data.orphan).toBe(false);
    expect((await t.call("POST", "/v1/auth/token/revoke-self", { token: pasted.client_token })).status).toBe(
      204,
    );
    expect((await t.call("GET", "/v1/ui/session", { headers: asPage(cookie) })).json.data).toBeNull();
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { headers: asPage(cookie) })).status).toBe(
      403,
    );
  });

  it("a token cannot be given roles beyond its maker's: an admin cannot make a root token", async () => {
    const erin = await loginErin();
    const refused = await create(erin.client_token, { policies: ["root"] });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toMatch(/beyond its maker's: root/);
    expect((await create(root, { policies: ["root"] })).status).toBe(200);
  });
});

describe("admins' token endpoints (Vault's)", () => {
  it("look up and revoke a token by its accessor, with its children; list the accessors", async () => {
    const made = (await create(root, { policies: ["totp-reader"], display_name: "ci-deploy" })).json.auth;
    const child = (await create(root, {})).json.auth;
    const list = await t.call("GET", "/v1/auth/token/accessors?list=true", { token: root });
    expect(list.json.data.keys).toEqual(expect.arrayContaining([made.accessor, child.accessor]));
    const lookup = await t.call("POST", "/v1/auth/token/lookup-accessor", {
      token: root,
      body: { accessor: made.accessor },
    });
    expect(lookup.json.data).toMatchObject({
      accessor: made.accessor,
      display_name: "token-ci-deploy",
      policies: ["default", "totp-reader"],
      owner: expect.stringMatching(/^token:/),
    });
    expect(lookup.text).not.toContain(made.client_token);
    expect(
      (
        await t.call("POST", "/v1/auth/token/revoke-accessor", {
          token: root,
          body: { accessor: made.accessor },
        })
      ).status,
    ).toBe(204);
    expect((await readCode(made.client_token)).status).toBe(403);
    const unknown = await t.call("POST", "/v1/auth/token/revoke-accessor", {
      token: root,
      body: { accessor: made.accessor },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors[0]).toMatch(/invalid accessor/);
  });

  it("revoke a token given as such; an unknown one is no error, as in Vault", async () => {
    const made = (await create(root, { policies: ["totp-reader"] })).json.auth;
    const revoke = (token: string) =>
      t.call("POST", "/v1/auth/token/revoke", { token: root, body: { token } });
    expect((await revoke(made.client_token)).status).toBe(204);
    expect((await readCode(made.client_token)).status).toBe(403);
    expect((await revoke(made.client_token)).status).toBe(204);
    expect((await revoke("")).status).toBe(400);
  });
});

describe("a person who made tokens", () => {
  it("given a new password, loses every token they answer for: logins, and tokens they made, orphans too", async () => {
    const gilPassword = "gil has a long password";
    await t.call("PUT", "/v1/auth/userpass/users/gil", { token: root, body: { password: gilPassword } });
    await t.call("PUT", "/v1/groups/admins", {
      token: root,
      body: { members: ["erin", "gil"], policies: ["admin"] },
    });
    const gil = (await t.call("POST", "/v1/auth/userpass/login/gil", { body: { password: gilPassword } }))
      .json.auth;
    const orphan = (await create(gil.client_token, { policies: ["admin"], no_parent: true, ttl: "1h" })).json
      .auth;
    expect((await readCode(orphan.client_token)).status).toBe(200);
    await t.call("PUT", "/v1/auth/userpass/users/gil", {
      token: root,
      body: { password: "gil's new long password" },
    });
    for (const token of [gil, orphan])
      expect((await lookupSelf(token.client_token)).status, token.accessor).toBe(403);
  });

  it("when no longer an admin, their tokens stop working; when deleted, every token they answer for is gone (orphans too)", async () => {
    const erin = await loginErin();
    const made = (await create(erin.client_token, { policies: ["totp-reader"], display_name: "ci" })).json
      .auth;
    const orphan = (
      await create(erin.client_token, { policies: ["totp-reader"], no_parent: true, ttl: "1h" })
    ).json.auth;
    expect((await lookupSelf(made.client_token)).json.data.owner).toBe("user:erin");
    expect((await readCode(orphan.client_token)).status).toBe(200);

    await t.call("PUT", "/v1/groups/admins", { token: root, body: { members: [], policies: ["admin"] } });
    t.clock.advance(1100); // past this node's token cache
    const refused = await readCode(orphan.client_token);
    expect(refused.status).toBe(403);
    const denial = (
      await t.call("GET", "/v1/audit?action=totp.code.read&outcome=denied", { token: root })
    ).json.data.entries.at(-1);
    expect(denial.details.problem).toMatch(/user:erin, may no longer make tokens/);

    expect((await t.call("DELETE", "/v1/auth/userpass/users/erin", { token: root })).status).toBe(204);
    for (const token of [erin, made, orphan]) {
      const lookup = await t.call("POST", "/v1/auth/token/lookup-accessor", {
        token: root,
        body: { accessor: token.accessor },
      });
      expect(lookup.status, token.accessor).toBe(400);
    }
  });
});
