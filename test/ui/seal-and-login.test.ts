import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UI_CONTENT_SECURITY_POLICY } from "../../src/http/security-headers.js";
import type { TestServer } from "../support/server.js";
import {
  browserStorage,
  launchBrowser,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  startUiServer,
  UI_TIMEOUT_MS,
} from "./browser.js";

/**
 * The key ceremony and sign-in, in Chromium, on a server that starts empty: initialise 5 shares
 * of which 3 unseal, unseal share by share, then sign in with the root token and as a person.
 */

describe.skipIf(SKIP_UI)("web UI: key ceremony and sign-in", () => {
  let browser: Browser;
  let t: TestServer;
  const pages = pageTracker(() => browser);
  const shares: string[] = [];
  let rootToken = "";

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
  });
  afterEach(async () => {
    expect(await pages.finish(), "console errors, CSP violations or failed requests in the browser").toEqual(
      [],
    );
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

  it("serves the app under the strict CSP, and it loads with no console error while uninitialised", async () => {
    const { page } = await pages.open();
    const response = await openUi(page, t.server.url);
    expect(response.status()).toBe(200);
    const headers = response.headers();
    expect(headers["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("style-src 'self'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    // A route of the single-page app gets the same page and the same policy.
    const deep = await page.request.get(`${t.server.url}/ui/credentials/anything`);
    expect(deep.headers()["content-security-policy"]).toBe(UI_CONTENT_SECURITY_POLICY);
    // The app's script and styles ran: it asked the server and chose the seal screen.
    await heading(page, "Initialise breakglass").waitFor();
    const styled = await page.evaluate(
      `[...document.styleSheets].some((sheet) => sheet.href?.includes("/ui/assets/") && sheet.cssRules.length > 0)`,
    );
    expect(styled, "the app's stylesheet did not load").toBe(true);

    const dark = await pages.open({ dark: true });
    await openUi(dark.page, t.server.url);
    await heading(dark.page, "Initialise breakglass").waitFor();
    await screenshot(dark.page, "seal-init-dark");
  });

  it("initialises 5 shares, threshold 3, hands out one share per screen, and unseals share by share", async () => {
    const custodians = ["alice", "bob", "carol", "dave", "erin"];
    const { page, context } = await pages.open();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.server.url });
    await openUi(page, t.server.url);
    await heading(page, "Initialise breakglass").waitFor();
    await page.getByLabel("Shares", { exact: true }).fill("5");
    await page.getByLabel("Threshold", { exact: true }).fill("3");
    await page.getByLabel("Custodians (optional)", { exact: true }).fill(custodians.join(", "));
    await screenshot(page, "seal-init-light");
    await button(page, "Initialise").click();

    // A ceremony: one share on the screen at a time, for its custodian; the one before is gone from the page.
    for (const [index, custodian] of custodians.entries()) {
      await heading(page, `Share ${index + 1} of 5 (for ${custodian})`).waitFor();
      expect(await page.getByTestId("unseal-key").count()).toBe(1);
      expect(await page.getByTestId("root-token").count()).toBe(0);
      const share = ((await page.getByTestId("unseal-key").textContent()) ?? "").trim();
      const html = await page.content();
      for (const earlier of shares) expect(html).not.toContain(earlier);
      shares.push(share);
      expect(await button(page, "Print").isVisible()).toBe(true);
      if (index === 0) {
        await button(page, "Copy share").click();
        await expect.poll(() => page.evaluate("navigator.clipboard.readText()")).toBe(share);
      }
      await button(page, index < 4 ? "Next share" : "Show the root token").click();
    }
    await heading(page, "Root token").waitFor();
    expect(await page.getByTestId("unseal-key").count()).toBe(0);
    rootToken = ((await page.getByTestId("root-token").textContent()) ?? "").trim();
    expect(new Set(shares).size).toBe(5);
    expect(rootToken).toMatch(/^\S{16,}$/);
    const status = (await t.call("GET", "/v1/sys/seal-status")).json;
    expect(status).toMatchObject({ initialized: true, sealed: true, n: 5, t: 3 });
    await button(page, "I have handed out every share").click();
    await expect.poll(() => page.getByTestId("root-token").count()).toBe(0);

    await heading(page, "Unseal").waitFor();
    const input = page.getByLabel("Unseal key share", { exact: true });
    expect(await input.getAttribute("type")).toBe("password");
    expect(await input.getAttribute("autocomplete")).toBe("off");
    await screenshot(page, "seal-unseal-light");

    // The last three shares handed out (any three unseal).
    for (const [index, share] of shares.slice(2).entries()) {
      await input.fill(share);
      await button(page, "Submit share").click();
      if (index < 2) {
        await expect
          .poll(() => page.getByTestId("unseal-progress").textContent(), { timeout: UI_TIMEOUT_MS })
          .toContain(`${index + 1} of 3 shares given`);
        expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({
          sealed: true,
          progress: index + 1,
        });
        if (index === 0) {
          // Another browser sees the same progress (it is the server's), here in dark.
          const dark = await pages.open({ dark: true });
          await openUi(dark.page, t.server.url);
          await expect
            .poll(() => dark.page.getByTestId("unseal-progress").textContent(), { timeout: UI_TIMEOUT_MS })
            .toContain("1 of 3 shares given");
          await screenshot(dark.page, "seal-unseal-dark");
        }
      }
      // Cleared after each submit, and kept nowhere the page's scripts could reach later.
      await expect.poll(() => input.inputValue().catch(() => "")).toBe("");
      const kept = await browserStorage(page);
      const cookies = JSON.stringify(await context.cookies());
      for (const given of shares) {
        expect(kept).not.toContain(given);
        expect(cookies).not.toContain(given);
        expect(page.url()).not.toContain(given);
      }
    }

    await heading(page, "Sign in").waitFor();
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ sealed: false });
    const kept = await browserStorage(page);
    expect(kept).not.toContain(rootToken);
    for (const given of shares) expect(kept).not.toContain(given);
  });

  it("signs in with the root token; the session cookie is HttpOnly, Secure, SameSite=Strict and hidden from scripts", async () => {
    expect(rootToken, "needs the ceremony above").not.toBe("");
    const { page, context } = await pages.open();
    await openUi(page, t.server.url);
    await heading(page, "Sign in").waitFor();
    await screenshot(page, "login-light");
    await page
      .getByRole("button", { name: "Sign in with a token instead" })
      .or(page.getByRole("link", { name: "Sign in with a token instead" }))
      .click();
    await page.getByLabel("Token", { exact: true }).fill(rootToken);
    await button(page, "Sign in").click();
    await heading(page, "Credentials").waitFor();

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === "bg_session");
    expect(session, `cookies: ${cookies.map((cookie) => cookie.name).join(", ")}`).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
      path: "/",
    });
    // The server puts a child of the pasted token in the cookie (signing out must not end the root token).
    const who = await t.call("GET", "/v1/ui/session", {
      headers: { cookie: `bg_session=${session?.value}`, "sec-fetch-site": "same-origin" },
    });
    expect(who.json.data.policies).toContain("root");
    const seenByScripts = await browserStorage(page);
    expect(seenByScripts).not.toContain("bg_session");
    expect(seenByScripts).not.toContain(rootToken);
    expect(seenByScripts).not.toContain(session?.value as string);
    expect(await page.evaluate("document.cookie")).toBe("");

    const dark = await pages.open({ dark: true });
    await openUi(dark.page, t.server.url);
    await heading(dark.page, "Sign in").waitFor();
    await screenshot(dark.page, "login-dark");
  });

  it("signs in as a person with username and password", async () => {
    expect(rootToken, "needs the ceremony above").not.toBe("");
    const created = await t.call("PUT", "/v1/auth/userpass/users/carol", {
      token: rootToken,
      body: { password: "carol's long password", email: "carol@acme.example" },
    });
    expect(created.status).toBeLessThan(300);
    const { page, context } = await pages.open();
    await openUi(page, t.server.url);
    await heading(page, "Sign in").waitFor();
    await page.getByLabel("Username", { exact: true }).fill("carol");
    await page.getByLabel("Password", { exact: true }).fill("carol's long password");
    await button(page, "Sign in").click();
    await heading(page, "Credentials").waitFor();
    await expect.poll(() => page.locator("header").first().textContent()).toContain("carol");

    const session = (await context.cookies()).find((cookie) => cookie.name === "bg_session");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    expect(await page.evaluate("document.cookie")).toBe("");
    expect(await browserStorage(page)).not.toContain(session?.value as string);
    expect(await browserStorage(page)).not.toContain("carol's long password");
    // The cookie is the session: the server knows it as carol's.
    const who = await t.call("GET", "/v1/ui/session", {
      headers: { cookie: `bg_session=${session?.value}`, "sec-fetch-site": "same-origin" },
    });
    expect(who.json.data.username).toBe("carol");
  });
});
