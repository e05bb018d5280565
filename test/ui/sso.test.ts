import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import {
  browserStorage,
  launchBrowser,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  startUiServer,
} from "./browser.js";

/**
 * "Sign in with SSO" in Chromium, against a real OpenID provider (oidc-provider on loopback): the
 * button, the provider's own login page, the way back to the app, and a session in the cookie only.
 */
describe.skipIf(SKIP_UI)("web UI: sign in with SSO", () => {
  let browser: Browser;
  let t: TestServer;
  let idp: TestProvider;
  let root: string;
  const pages = pageTracker(() => browser);

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    const returnTo = `${t.server.url}/ui/oidc/callback`;
    idp = await startTestProvider({
      redirectUris: [returnTo],
      people: {
        "sub-frank": { username: "frank", password: "frank-pw", name: "Frank Oncall", groups: ["sre"] },
      },
    });
    const admin = (path: string, body: unknown) => t.call("PUT", path, { token: root, body });
    expect((await admin("/v1/groups/oncall", { members: [], policies: ["operator"] })).status).toBe(204);
    expect(
      (
        await admin("/v1/auth/oidc/config", {
          oidc_discovery_url: idp.issuer,
          oidc_client_id: idp.clientId,
          oidc_client_secret: idp.clientSecret,
          default_role: "web",
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await admin("/v1/auth/oidc/role/web", {
          user_claim: "preferred_username",
          groups_claim: "groups",
          allowed_redirect_uris: [returnTo],
          oidc_scopes: ["profile", "groups", "offline_access"],
          create_users: true,
          group_mappings: { sre: "oncall" },
        })
      ).status,
    ).toBe(204);
  }, 90_000);
  afterEach(async () => {
    expect(await pages.finish(), "console errors, CSP violations or failed requests in the browser").toEqual(
      [],
    );
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.close();
  });

  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });

  it("signs in through the provider's page and comes back signed in, the token in the cookie only", async () => {
    const { page, context } = await pages.open();
    await openUi(page, t.server.url);
    await heading(page, "Sign in").waitFor();
    await screenshot(page, "login-with-sso");
    await page.getByRole("button", { name: "Sign in with SSO", exact: true }).click();
    // The provider's own page.
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.getByLabel("Username").fill("frank");
    await page.getByLabel("Password").fill("frank-pw");
    await page.getByRole("button", { name: "Sign in" }).click();
    // Back in the app, signed in as the provider's person.
    await heading(page, "Credentials").waitFor();
    await page.getByText("Frank Oncall", { exact: true }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/ui/");
    const session = (await context.cookies()).find((cookie) => cookie.name === "bg_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    const seen = await browserStorage(page);
    expect(seen).not.toContain(session?.value as string);
    expect(seen).not.toContain("client_nonce");
    const who = await t.call("GET", "/v1/ui/session", {
      headers: { cookie: `bg_session=${session?.value}`, "sec-fetch-site": "same-origin" },
    });
    expect(who.json.data).toMatchObject({ username: "frank", display_name: "Frank Oncall" });
    expect(who.json.data.policies).toContain("operator");
    const entries = await t.call("GET", "/v1/audit?action=auth.oidc.login&order=newest&limit=1", {
      token: root,
    });
    expect(entries.json.data.entries[0]).toMatchObject({
      actor: "user:frank",
      outcome: "allowed",
      token_name: "oidc-frank",
    });
  });

  it("a return that is not this tab's sign-in (a link someone sent) is refused, and says so", async () => {
    const opened = await pages.open();
    await openUi(opened.page, t.server.url, "/oidc/callback?state=someone-elses-state&code=their-code");
    await opened.page.getByText("was not started in this tab", { exact: false }).waitFor();
    expect(new URL(opened.page.url()).search).toBe(""); // the code left the address bar
    await opened.page.getByRole("link", { name: "Back to sign in" }).click();
    await heading(opened.page, "Sign in").waitFor();
  });
});
