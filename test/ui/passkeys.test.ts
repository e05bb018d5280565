import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import {
  launchBrowser,
  type OpenedPage,
  openPage,
  SKIP_UI,
  screenshot,
  startUiServer,
  UI_TIMEOUT_MS,
} from "./browser.js";
import { addVirtualAuthenticator, localhostUrl, type VirtualAuthenticator } from "./passkey-authenticator.js";

/**
 * The web UI's passkeys, in Chromium with the DevTools protocol's virtual authenticator: the
 * Passkeys page (add, rename, remove), signing in with password and passkey, a code read whose
 * rule asks for a step-up, and an approval whose rule asks the approver for one.
 */

describe.skipIf(SKIP_UI)("web UI: passkeys", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let base: string;
  /** alice's laptop: one browser context with its authenticator, kept across the tests below. */
  let opened: OpenedPage;
  let laptop: { page: Page; authenticator: VirtualAuthenticator };

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    base = localhostUrl(t.server.url);
    for (const name of ["alice", "bob"])
      await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
        token: root,
        body: { password: `${name} has a long password` },
      });
    for (const name of ["aws-prod-root", "registrar"])
      await t.call("POST", `/v1/totp/keys/${name}`, {
        token: root,
        body: { key: encodeBase32Upper(randomBytes(20)) },
      });
    await t.call("PUT", "/v1/totp/access/aws-prod-root", {
      token: root,
      body: { readers: ["user:alice"], step_up: true },
    });
    await t.call("PUT", "/v1/totp/access/registrar", {
      token: root,
      body: {
        readers: ["user:bob"],
        approvers: ["user:alice"],
        approvals_required: 1,
        approver_step_up: true,
      },
    });
    opened = await openPage(browser);
    opened.context.setDefaultTimeout(UI_TIMEOUT_MS);
    // The password alone is refused on purpose below: that 400 is not a console problem.
    opened.allowRefusal(400, /^\/v1\/ui\/session$/);
    laptop = { page: opened.page, authenticator: await addVirtualAuthenticator(opened.context, opened.page) };
  });
  afterEach(() => {
    expect(
      opened.problems.splice(0),
      "console errors, CSP violations or failed requests in the browser",
    ).toEqual([]);
  });
  afterAll(async () => {
    await opened?.close();
    await browser?.close();
    await t?.close();
  });

  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });

  const signIn = async (
    page: Page,
    how: "Sign in" | "Sign in with a passkey",
    password = "alice has a long password",
  ) => {
    await page.goto(`${base}/ui/`);
    await page.getByLabel("Username", { exact: true }).fill("alice");
    await page.getByLabel("Password", { exact: true }).fill(password);
    await button(page, how).click();
  };

  it("adds, renames and removes passkeys on the Passkeys page", async () => {
    const { page } = laptop;
    await signIn(page, "Sign in");
    await page.getByRole("link", { name: "Passkeys", exact: true }).click();
    await heading(page, "Passkeys").waitFor();
    await page.getByText("You have no passkey yet.").waitFor();
    await page.getByLabel("Name", { exact: true }).fill("laptop");
    await button(page, "Add passkey").click();
    await heading(page, "laptop").waitFor();
    expect(await page.getByRole("status").first().textContent()).toBe("Added laptop");
    expect(await laptop.authenticator.credentialIds()).toHaveLength(1);

    await page.getByLabel("New name for laptop", { exact: true }).fill("work laptop");
    await button(page, "Rename").click();
    await heading(page, "work laptop").waitFor();
    await screenshot(page, "passkeys");

    await page.getByRole("button", { name: "Remove work laptop", exact: true }).click();
    await button(page, "Remove passkey").click();
    await page.getByText("You have no passkey yet.").waitFor();
    // Removed on the server, still on the authenticator: the next one is made beside it.
    await laptop.authenticator.cdp.send("WebAuthn.clearCredentials", {
      authenticatorId: laptop.authenticator.authenticatorId,
    });
    await page.getByLabel("Name", { exact: true }).fill("laptop");
    await button(page, "Add passkey").click();
    await heading(page, "laptop").waitFor();
    const passkeys = (await t.call("GET", "/v1/audit?action=people.passkey&limit=50", { token: root })).json
      .data.entries;
    expect(passkeys.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["people.passkey.register", "people.passkey.rename", "people.passkey.remove"]),
    );
  });

  it("signs in with password and passkey; the password alone is refused like a wrong one", async () => {
    const { page } = laptop;
    await page.context().clearCookies();
    await signIn(page, "Sign in");
    await page.getByText("invalid username or password").waitFor();
    await button(page, "Sign in with a passkey").click();
    await heading(page, "Credentials").waitFor();
  });

  it("reads a code whose rule asks for a step-up: the passkey is asked, the read names it", async () => {
    const { page } = laptop;
    // The page learns the rule (step_up) from the credentials list: wait for it, as a person sees
    // the page before clicking (under load, a click before it reads once unasked and is told).
    const listed = page.waitForResponse((response) => response.url().includes("/v1/ui/credentials"));
    await page.goto(`${base}/ui/credentials/aws-prod-root`);
    await listed;
    await button(page, "Show code").click();
    await page.getByTestId("totp-code").waitFor();
    expect(await page.getByTestId("totp-code").textContent()).toMatch(/^\d{3} \d{3}$/);
    const reads = (await t.call("GET", "/v1/audit?action=totp.code.read&outcome=allowed", { token: root }))
      .json.data.entries;
    expect(reads.at(-1).details.passkey).toBe((await laptop.authenticator.credentialIds())[0]);
  });

  it("approves a request whose rule asks the approver for a step-up", async () => {
    const bob = (
      await t.call("POST", "/v1/auth/userpass/login/bob", { body: { password: "bob has a long password" } })
    ).json.auth.client_token;
    const requested = await t.call("POST", "/v1/approvals", {
      token: bob,
      body: { key: "registrar", reason: "INC-9" },
    });
    expect(requested.status).toBe(200);
    const { page } = laptop;
    await page.goto(`${base}/ui/approvals`);
    const card = page.getByRole("article").filter({ hasText: "registrar" });
    await card.getByText("Approving asks you to touch your passkey").waitFor();
    await card.getByRole("button", { name: "Approve", exact: true }).click();
    await page.getByText("Nothing waits for your decision.").waitFor();
    const approval = await t.call("GET", `/v1/approvals/${requested.json.data.id}`, { token: root });
    expect(approval.json.data.status).toBe("approved");
    const approved = (
      await t.call("GET", "/v1/audit?action=approval.approve&outcome=allowed", { token: root })
    ).json.data.entries;
    expect(approved.at(-1).details.passkey).toBe((await laptop.authenticator.credentialIds())[0]);
  });

  it("lets an admin reset the passkeys of someone who lost them all, on the People page", async () => {
    const admin = await openPage(browser);
    admin.context.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      await admin.page.goto(`${base}/ui/`);
      await admin.page
        .getByRole("button", { name: "Sign in with a token instead" })
        .or(admin.page.getByRole("link", { name: "Sign in with a token instead" }))
        .click();
      await admin.page.getByLabel("Token", { exact: true }).fill(root);
      await button(admin.page, "Sign in").click();
      await admin.page.getByRole("link", { name: "People and groups", exact: true }).click();
      await admin.page.getByRole("button", { name: "Reset passkeys alice", exact: true }).click();
      await button(admin.page, "Reset passkeys of alice").click();
      await admin.page.getByText("Every passkey of alice is removed").waitFor();
      expect(admin.problems).toEqual([]);
    } finally {
      await admin.close();
    }
    const reset = (
      await t.call("GET", "/v1/audit?action=people.passkey.reset&outcome=allowed", { token: root })
    ).json.data.entries;
    expect(reset.at(-1)).toMatchObject({ target: "user:alice", details: { count: 1 } });
    // alice signs in with her password alone again, and may add a new passkey.
    await laptop.page.context().clearCookies();
    await signIn(laptop.page, "Sign in");
    await heading(laptop.page, "Credentials").waitFor();
  });
});
