// The web UI acts on the server's error codes (core/errors.ts), never on the wording of a message.
import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import { launchBrowser, openUi, pageTracker, signInByApi, startUiServer } from "./browser.js";

describe("the web UI, told by error codes", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  const pages = pageTracker(() => browser);
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });
  const rule = (body: Record<string, unknown>) =>
    t.call("PUT", "/v1/totp/access/k1", { token: root, body: { readers: ["group:oncall"], ...body } });

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    await t.call("POST", "/v1/totp/keys/k1", {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)) },
    });
    await t.call("PUT", "/v1/auth/userpass/users/alice", {
      token: root,
      body: { password: "alice's long password" },
    });
    await t.call("PUT", "/v1/auth/userpass/users/bob", {
      token: root,
      body: { password: "bob's long password!" },
    });
    await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice"] } });
    await t.call("PUT", "/v1/groups/security", { token: root, body: { members: ["bob"] } });
  });
  afterEach(async () => {
    expect(await pages.finish()).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function alicePage() {
    const opened = await pages.open();
    await signInByApi(opened.context, t.server.url, { username: "alice", password: "alice's long password" });
    await openUi(opened.page, t.server.url, "/credentials/k1");
    await opened.page.waitForLoadState("networkidle");
    return opened;
  }

  it("learns a required reason from REASON_REQUIRED", async () => {
    expect((await rule({ require_reason: false })).status).toBeLessThan(300);
    const { page, allowRefusal } = await alicePage();
    allowRefusal(400, /^\/v1\/totp\/code\/k1$/);
    expect(await page.getByLabel("Reason", { exact: true }).getAttribute("required")).toBeNull();
    expect((await rule({ require_reason: true })).status).toBeLessThan(300);
    await button(page, "Show code").click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toContain("A reason is required to read this credential");
    expect(await page.getByLabel("Reason", { exact: true }).getAttribute("required")).not.toBeNull();
    expect(await page.evaluate("document.activeElement.id")).toBe(
      await page.getByLabel("Reason", { exact: true }).getAttribute("id"),
    );
  });

  it("learns a required approval from APPROVAL_REQUIRED, and asks for it", async () => {
    expect((await rule({ require_reason: false })).status).toBeLessThan(300);
    const { page, allowRefusal } = await alicePage();
    allowRefusal(403, /^\/v1\/totp\/code\/k1$/);
    expect((await rule({ approvers: ["group:security"], approvals_required: 1 })).status).toBeLessThan(300);
    await button(page, "Show code").click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toContain("reading k1 needs 1 approval(s): request an approval with your reason");
    await button(page, "Request approval").waitFor();
  });

  it("offers the second factor after LOGIN_FAILED", async () => {
    const { page, allowRefusal } = await pages.open();
    allowRefusal(400, /^\/v1\/ui\/session$/);
    await openUi(page, t.server.url);
    await page.getByLabel("Username", { exact: true }).fill("alice");
    await page.getByLabel("Password", { exact: true }).fill("wrong password entirely");
    expect(await page.getByLabel("Second factor code", { exact: true }).count()).toBe(0);
    await button(page, "Sign in").click();
    await page.getByLabel("Second factor code", { exact: true }).waitFor();
  });
});
