import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, RELEASED_CODE, type TestServer } from "../support/server.js";
import { openRawDatabase } from "../support/storage.js";
import { launchBrowser, pageTracker, startUiServer } from "./browser.js";
import {
  addVirtualAuthenticator,
  assertPasskey,
  createPasskey,
  localhostUrl,
  pageApi,
  stepUpHeader,
  type VirtualAuthenticator,
} from "./passkey-authenticator.js";

/**
 * Passkeys end to end with a real browser's WebAuthn: Chromium's virtual authenticator signs, the
 * server verifies (@simplewebauthn/server). Unlike the UI's page tests this runs in both storage
 * passes: the credentials and the single-use challenges are rows, shared by every node on PostgreSQL.
 */

const PASSWORD = "alice has a long password";

describe("passkeys with Chromium's virtual authenticator", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let page: Page;
  let authenticator: VirtualAuthenticator;
  const pages = pageTracker(() => browser);
  let alice: string;

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    for (const name of ["alice", "bob"])
      await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
        token: root,
        body: { password: `${name} has a long password` },
      });
    ({ page, authenticator } = await device());
    alice = (await pageApi(page, "POST", "/v1/auth/userpass/login/alice", { body: { password: PASSWORD } }))
      .json.auth.client_token;
  });
  afterAll(async () => {
    await pages.finish();
    await browser?.close();
    await t?.close();
  });

  /** Another device of someone's: a page with an authenticator of its own (one holds one passkey per person). */
  const device = async () => {
    const opened = await pages.open();
    // Refusals this file provokes on purpose are not console problems.
    for (const status of [400, 403, 404]) opened.allowRefusal(status, /./);
    await opened.page.goto(`${localhostUrl(t.server.url)}/ui/`);
    return { page: opened.page, authenticator: await addVirtualAuthenticator(opened.context, opened.page) };
  };

  const register = async (token: string, name?: string, on: Page = page) => {
    const begun = await pageApi(on, "POST", "/v1/auth/passkey/register/begin", { token, body: {} });
    expect(begun.status, JSON.stringify(begun.json)).toBe(200);
    const credential = await createPasskey(on, begun.json.data);
    return pageApi(on, "POST", "/v1/auth/passkey/register/finish", {
      token,
      body: { credential, ...(name ? { name } : {}) },
    });
  };

  const audit = async (action: string) =>
    (await t.call("GET", `/v1/audit?action=${action}&limit=100`, { token: root })).json.data.entries as {
      outcome: string;
      target: string;
      details: Record<string, unknown>;
    }[];

  it("registers two passkeys of a person, lists, renames and removes them; only public keys are stored, every credential id is audited", async () => {
    const first = await register(alice, "laptop");
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.data).toMatchObject({ name: "laptop", last_used_at: null });
    const phone = await device();
    const second = await register(alice, undefined, phone.page);
    expect(second.status, JSON.stringify(second.json)).toBe(200);
    expect(second.json.data.name).toBe("passkey");
    expect(await authenticator.credentialIds()).toEqual([first.json.data.id]);
    expect(await phone.authenticator.credentialIds()).toEqual([second.json.data.id]);

    const listed = await pageApi(page, "GET", "/v1/auth/passkey/credentials", { token: alice });
    expect(listed.json.data.passkeys.map((p: { name: string }) => p.name)).toEqual(["laptop", "passkey"]);
    expect(JSON.stringify(listed.json)).not.toMatch(/public_?key/i);

    const id = second.json.data.id as string;
    expect(
      (
        await pageApi(page, "POST", `/v1/auth/passkey/credentials/${id}`, {
          token: alice,
          body: { name: "phone" },
        })
      ).status,
    ).toBe(204);
    expect(
      (await pageApi(page, "GET", "/v1/auth/passkey/credentials", { token: alice })).json.data.passkeys.map(
        (p: { name: string }) => p.name,
      ),
    ).toEqual(["laptop", "phone"]);
    expect(
      (await pageApi(page, "DELETE", `/v1/auth/passkey/credentials/${id}`, { token: alice })).status,
    ).toBe(204);
    expect(
      (await pageApi(page, "DELETE", `/v1/auth/passkey/credentials/${id}`, { token: alice })).status,
    ).toBe(404);

    const db = await openRawDatabase(t.storage);
    try {
      const rows = await db.rows<Record<string, unknown>>("select * from passkeys");
      expect(rows).toHaveLength(1);
      expect(Object.keys(rows[0] ?? {}).sort()).toEqual([
        "backed_up",
        "counter",
        "created_at",
        "device_type",
        "id",
        "last_used_at",
        "name",
        "public_key",
        "transports",
        "username",
      ]);
    } finally {
      await db.close();
    }
    const registered = await audit("people.passkey.register");
    expect(registered.filter((e) => e.outcome === "allowed").map((e) => e.details.credential)).toEqual(
      expect.arrayContaining([first.json.data.id, id]),
    );
    expect((await audit("people.passkey.rename"))[0]?.details.credential).toBe(id);
    expect((await audit("people.passkey.remove")).map((e) => e.details.credential)).toEqual([id, id]);
    expect(t.log()).not.toContain("attestationObject");
  });

  it("asks a person with a passkey for it at every password login: without it, with a used or someone else's, the login fails like a wrong password", async () => {
    const login = (body: Record<string, unknown>, path = "/v1/auth/userpass/login/alice") =>
      pageApi(page, "POST", path, { body: { password: PASSWORD, ...body } });
    const passkeyFor = async (username: string, on: Page = page) => {
      const begun = await pageApi(on, "POST", "/v1/auth/passkey/login/begin", { body: { username } });
      expect(begun.status).toBe(200);
      return assertPasskey(on, begun.json.data);
    };
    const failed = { status: 400, json: { code: "LOGIN_FAILED", errors: ["invalid username or password"] } };
    expect(await login({})).toMatchObject(failed);
    expect(
      await pageApi(page, "POST", "/v1/auth/userpass/login/alice", {
        body: { password: "wrong", passkey: await passkeyFor("alice") },
      }),
    ).toMatchObject(failed);

    const assertion = await passkeyFor("alice");
    const ok = await login({ passkey: assertion });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.auth.client_token).toMatch(/./);
    expect(await login({ passkey: assertion })).toMatchObject(failed); // each challenge once

    // A challenge handed out for bob (or a step-up) does not log alice in.
    expect(await login({ passkey: await passkeyFor("bob") })).toMatchObject(failed);
    // A passkey of someone else's, for alice's challenge: carol's device answers alice's login.
    const carolDevice = await device();
    const carol = (
      await pageApi(carolDevice.page, "POST", "/v1/auth/userpass/users/carol", {
        token: root,
        body: { password: "carol has a long password" },
      })
    ).status;
    expect(carol).toBe(204);
    const carolToken = (
      await pageApi(carolDevice.page, "POST", "/v1/auth/userpass/login/carol", {
        body: { password: "carol has a long password" },
      })
    ).json.auth.client_token;
    expect((await register(carolToken, "carol's", carolDevice.page)).status).toBe(200);
    expect(await login({ passkey: await passkeyFor("alice", carolDevice.page) })).toMatchObject(failed);

    // The web UI's sign-in takes it too.
    const session = await pageApi(page, "POST", "/v1/ui/session", {
      body: { username: "alice", password: PASSWORD, passkey: await passkeyFor("alice") },
    });
    expect(session.status, JSON.stringify(session.json)).toBe(200);
    expect(session.json.data.username).toBe("alice");

    const checks = await audit("people.passkey.check");
    expect(checks.filter((e) => e.outcome === "allowed").length).toBe(2);
    expect(checks.filter((e) => e.outcome === "denied").map((e) => e.details.problem)).toEqual([
      "unknown or already used challenge",
      "a challenge given to someone else",
      "not a passkey of this person",
    ]);
    const logins = await audit("auth.userpass.login");
    expect(logins.filter((e) => e.details.problem === "missing or wrong passkey")).toHaveLength(3);
  });

  describe("step-up", () => {
    const stepUpFor = async (action: string, target: string, on: Page = page, token = alice) => {
      const begun = await pageApi(on, "POST", "/v1/auth/passkey/step-up/begin", {
        token,
        body: { action, target },
      });
      expect(begun.status, JSON.stringify(begun.json)).toBe(200);
      return assertPasskey(on, begun.json.data);
    };
    const read = (name: string, assertion?: unknown, token = alice) =>
      pageApi(page, "GET", `/v1/totp/code/${name}`, {
        token,
        headers: assertion ? { "X-Breakglass-Step-Up": stepUpHeader(assertion) } : {},
      });
    const stepUpRequired = { status: 403, json: { code: "STEP_UP_REQUIRED" } };

    beforeAll(async () => {
      for (const name of ["aws-prod-root", "registrar", "plain"])
        await t.call("POST", `/v1/totp/keys/${name}`, {
          token: root,
          body: { key: encodeBase32Upper(randomBytes(20)) },
        });
      await t.call("PUT", "/v1/totp/access/aws-prod-root", {
        token: root,
        body: { readers: ["user:alice"], step_up: true },
      });
      await t.call("PUT", "/v1/totp/access/plain", { token: root, body: { readers: ["user:alice"] } });
      await t.call("PUT", "/v1/totp/access/registrar", {
        token: root,
        body: {
          readers: ["user:bob"],
          approvers: ["user:alice"],
          approvals_required: 1,
          approver_step_up: true,
        },
      });
    });

    it("a code read under a rule with step_up needs a fresh passkey touch bound to it; the entry names the passkey", async () => {
      const rule = await t.call("GET", "/v1/totp/access/aws-prod-root", { token: root });
      expect(rule.json.data).toMatchObject({ step_up: true, approver_step_up: false });
      const listed = await pageApi(page, "GET", "/v1/ui/credentials", { token: alice });
      expect(JSON.stringify(listed.json)).toContain('"step_up":true');

      expect(await read("aws-prod-root")).toMatchObject(stepUpRequired);
      expect((await read("plain")).status).toBe(200); // a rule without step_up: as before

      const assertion = await stepUpFor("totp.code.read", "aws-prod-root");
      const released = await read("aws-prod-root", assertion);
      expect(released.status, JSON.stringify(released.json)).toBe(200);
      expect(JSON.stringify(released.json)).toMatch(RELEASED_CODE);
      const [laptop] = await authenticator.credentialIds();
      const entry = (await audit("totp.code.read")).find(
        (e) => e.outcome === "allowed" && e.target === "totp/keys/aws-prod-root",
      );
      expect(entry?.details.passkey).toBe(laptop);
    });

    it("an assertion is used once, for its own action and target only", async () => {
      const assertion = await stepUpFor("totp.code.read", "aws-prod-root");
      expect((await read("aws-prod-root", assertion)).status).toBe(200);
      expect(await read("aws-prod-root", assertion)).toMatchObject(stepUpRequired); // replayed

      expect(await read("aws-prod-root", await stepUpFor("totp.code.read", "plain"))).toMatchObject(
        stepUpRequired,
      );
      expect(await read("aws-prod-root", await stepUpFor("approval.approve", "aws-prod-root"))).toMatchObject(
        stepUpRequired,
      );
      // A login's assertion is no step-up.
      const login = await pageApi(page, "POST", "/v1/auth/passkey/login/begin", {
        body: { username: "alice" },
      });
      expect(await read("aws-prod-root", await assertPasskey(page, login.json.data))).toMatchObject(
        stepUpRequired,
      );
      const problems = (await audit("totp.code.read"))
        .filter((e) => e.outcome === "denied")
        .map((e) => String(e.details.problem));
      expect(problems).toEqual(
        expect.arrayContaining([
          "no passkey step-up given",
          "passkey step-up not accepted: unknown or already used challenge",
          "passkey step-up not accepted: a challenge for another action (totp.code.read plain), not totp.code.read aws-prod-root",
          "passkey step-up not accepted: a challenge for another action (approval.approve aws-prod-root), not totp.code.read aws-prod-root",
          "passkey step-up not accepted: a challenge for a login, not a step-up",
        ]),
      );
    });

    it("refuses a step-up older than its 60 seconds", async () => {
      const assertion = await stepUpFor("totp.code.read", "aws-prod-root");
      t.clock.advance(61_000);
      expect(await read("aws-prod-root", assertion)).toMatchObject(stepUpRequired);
      const last = (await audit("totp.code.read")).filter((e) => e.outcome === "denied").at(-1);
      expect(last?.details.problem).toBe("passkey step-up not accepted: the challenge expired");
    });

    it("tells a machine token that the read needs a person with a passkey (403)", async () => {
      const answer = await read("aws-prod-root", undefined, root);
      expect(answer.status).toBe(403);
      expect(answer.json.code).toBe("PERMISSION_DENIED");
      expect(answer.json.errors[0]).toContain("only a person with a passkey can give");
      expect(JSON.stringify(answer.json)).not.toMatch(RELEASED_CODE);
    });

    it("an approver's yes under approver_step_up needs a passkey touch bound to that very request", async () => {
      const bob = (
        await pageApi(page, "POST", "/v1/auth/userpass/login/bob", {
          body: { password: "bob has a long password" },
        })
      ).json.auth.client_token;
      const requested = await pageApi(page, "POST", "/v1/approvals", {
        token: bob,
        body: { key: "registrar", reason: "INC-7" },
      });
      expect(requested.status, JSON.stringify(requested.json)).toBe(200);
      const id = requested.json.data.id as string;
      expect(requested.json.data.approver_step_up).toBe(true);
      const other = (
        await pageApi(page, "POST", "/v1/approvals", {
          token: bob,
          body: { key: "registrar", reason: "INC-8" },
        })
      ).json.data.id as string;

      const approve = (step_up?: unknown) =>
        pageApi(page, "POST", `/v1/approvals/${id}/approve`, {
          token: alice,
          body: { comment: "ok", ...(step_up ? { step_up } : {}) },
        });
      expect(await approve()).toMatchObject(stepUpRequired);
      expect(await approve(await stepUpFor("approval.approve", other))).toMatchObject(stepUpRequired);
      expect(await approve(await stepUpFor("totp.code.read", "registrar"))).toMatchObject(stepUpRequired);
      // Denying needs no touch.
      expect(
        (await pageApi(page, "POST", `/v1/approvals/${other}/deny`, { token: alice, body: {} })).status,
      ).toBe(200);

      const approved = await approve(await stepUpFor("approval.approve", id));
      expect(approved.status, JSON.stringify(approved.json)).toBe(200);
      expect(approved.json.data.status).toBe("approved");
      const entry = (await audit("approval.approve")).find((e) => e.outcome === "allowed");
      expect(entry?.details.passkey).toBe((await authenticator.credentialIds())[0]);
      expect((await audit("approval.approve")).filter((e) => e.outcome === "denied")).toHaveLength(3);
      // The approval releases bob's read: the rule asks no step-up of the reader.
      const released = await pageApi(page, "GET", `/v1/totp/code/registrar?approval=${id}&reason=INC-7`, {
        token: bob,
      });
      expect(released.status, JSON.stringify(released.json)).toBe(200);
    });
  });

  it("refuses a registration answer given twice (its challenge is used once)", async () => {
    const { page } = await device();
    const begun = await pageApi(page, "POST", "/v1/auth/passkey/register/begin", { token: alice, body: {} });
    const credential = await createPasskey(page, begun.json.data);
    const once = await pageApi(page, "POST", "/v1/auth/passkey/register/finish", {
      token: alice,
      body: { credential },
    });
    expect(once.status).toBe(200);
    const twice = await pageApi(page, "POST", "/v1/auth/passkey/register/finish", {
      token: alice,
      body: { credential },
    });
    expect(twice).toMatchObject({ status: 400, json: { code: "BAD_INPUT" } });
    expect(twice.json.errors[0]).toContain("unknown or already used challenge");
    expect(
      (await pageApi(page, "DELETE", `/v1/auth/passkey/credentials/${once.json.data.id}`, { token: alice }))
        .status,
    ).toBe(204);
  });

  it("refuses a registration begun longer ago than its two minutes", async () => {
    const { page } = await device();
    const begun = await pageApi(page, "POST", "/v1/auth/passkey/register/begin", { token: alice, body: {} });
    const credential = await createPasskey(page, begun.json.data);
    t.clock.advance(121_000);
    const late = await pageApi(page, "POST", "/v1/auth/passkey/register/finish", {
      token: alice,
      body: { credential },
    });
    expect(late.status).toBe(400);
    expect(late.json.errors[0]).toContain("the challenge expired");
  });

  it("lets an admin reset a person's passkeys: audited with every credential id, and told to the team", async () => {
    const bob = (
      await pageApi(page, "POST", "/v1/auth/userpass/login/bob", {
        body: { password: "bob has a long password" },
      })
    ).json.auth.client_token;
    const made = await register(bob, "bob's key", (await device()).page);
    expect(made.status).toBe(200);
    const reset = await t.call("DELETE", "/v1/auth/userpass/users/bob/passkeys", { token: root });
    expect(reset.status).toBe(204);
    expect(
      (await pageApi(page, "GET", "/v1/auth/passkey/credentials", { token: bob })).json.data.passkeys,
    ).toEqual([]);
    const entry = (await audit("people.passkey.reset")).find((e) => e.outcome === "allowed");
    expect(entry).toMatchObject({
      target: "user:bob",
      details: { credentials: made.json.data.id, count: 1 },
    });
    const db = await openRawDatabase(t.storage);
    try {
      const events = (await db.rows<{ event: string }>("select event from notification_outbox")).map((r) =>
        JSON.parse(r.event),
      );
      expect(events.find((e) => e.type === "passkeys.reset")?.text).toContain(
        "reset the passkeys of user:bob (1 removed)",
      );
    } finally {
      await db.close();
    }
    expect((await t.call("DELETE", "/v1/auth/userpass/users/nobody/passkeys", { token: root })).status).toBe(
      404,
    );
  });
});
