import { randomBytes } from "node:crypto";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";
import {
  launchBrowser,
  markerOf,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  setMarker,
  signInByApi,
  startUiServer,
} from "./browser.js";

/**
 * The two-person rule across two browsers: alice (a reader) asks with a reason and waits; bob (an
 * approver) sees the request on his Approvals page and approves; alice's page shows the code
 * without a reload, and it is oathtool's.
 */

const PERIOD = 30;
const seed = randomBytes(20);
const REASON = "INC-4411 billing lockout";
const PASSWORDS = { alice: "alice's long password", bob: "bob's long password!" };

describe.skipIf(SKIP_UI)("web UI: approval round trip", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let aliceToken: string;
  const pages = pageTracker(() => browser);
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page | Locator, name: string) => page.getByRole("button", { name, exact: true });

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    const ok = async (what: string, answer: Promise<{ status: number; text: string }>) => {
      const { status, text } = await answer;
      if (status >= 300) throw new Error(`${what}: ${status} ${text}`);
    };
    await ok(
      "key",
      t.call("POST", "/v1/totp/keys/aws-prod-root", {
        token: root,
        body: {
          key: encodeBase32Upper(seed),
          issuer: "AWS",
          account_name: "root@acme.example",
          period: PERIOD,
        },
      }),
    );
    for (const [name, password] of Object.entries(PASSWORDS))
      await ok(
        name,
        t.call("PUT", `/v1/auth/userpass/users/${name}`, {
          token: root,
          body: { password, email: `${name}@acme.example` },
        }),
      );
    const login = await t.call("POST", "/v1/auth/userpass/login/alice", {
      body: { password: PASSWORDS.alice },
    });
    aliceToken = login.json.auth.client_token;
    await ok("oncall", t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice"] } }));
    await ok("security", t.call("PUT", "/v1/groups/security", { token: root, body: { members: ["bob"] } }));
    await ok(
      "rule",
      t.call("PUT", "/v1/totp/access/aws-prod-root", {
        token: root,
        body: {
          readers: ["group:oncall"],
          approvers: ["group:security"],
          approvals_required: 1,
          require_reason: true,
          approval_ttl: 900,
        },
      }),
    );
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

  async function as(name: keyof typeof PASSWORDS, options: { dark?: boolean } = {}) {
    const opened = await pages.open(options);
    await signInByApi(opened.context, t.server.url, { username: name, password: PASSWORDS[name] });
    return opened;
  }

  it("alice asks, bob approves in another browser, alice's page shows oathtool's code without a reload", async () => {
    const aliceBrowser = await as("alice");
    // The contract lets the page learn that an approval is needed from the code read's 403.
    aliceBrowser.allowRefusal(403, /^\/v1\/totp\/code\/aws-prod-root$/);
    const alice = aliceBrowser.page;
    await openUi(alice, t.server.url, "/credentials/aws-prod-root");
    await heading(alice, "aws-prod-root").waitFor();
    await alice.getByLabel("Reason", { exact: true }).fill(REASON);
    const requestApproval = button(alice, "Request approval");
    // The page may know the rule up front (once its list has loaded), or learn it from the
    // server's refusal of "Show code".
    await alice.waitForLoadState("networkidle");
    if (!(await requestApproval.isVisible())) await button(alice, "Show code").click();
    await requestApproval.click();
    await expect
      .poll(() => alice.getByTestId("approval-status").textContent())
      .toContain("Waiting for approval");
    expect(await alice.getByTestId("totp-code").count()).toBe(0);
    const marker = await setMarker(alice);
    await screenshot(alice, "approval-waiting-light");

    const mine = async () =>
      (await t.call("GET", "/v1/approvals?mine=true", { token: aliceToken })).json.data.approvals.map(
        (approval: { status: string }) => approval.status,
      );
    expect(await mine()).toEqual(["pending"]);

    const dark = (await as("bob", { dark: true })).page;
    await openUi(dark, t.server.url, "/approvals");
    await dark.getByRole("article").filter({ hasText: "aws-prod-root" }).waitFor();
    await screenshot(dark, "approvals-dark");

    const bob = (await as("bob")).page;
    await openUi(bob, t.server.url, "/approvals");
    await heading(bob, "Approvals").waitFor();
    const request = bob.getByRole("article").filter({ hasText: "aws-prod-root" });
    await request.waitFor();
    const text = (await request.textContent()) ?? "";
    expect(text).toContain("alice");
    expect(text).toContain(REASON);
    await button(request, "Deny").waitFor();
    await screenshot(bob, "approvals-light");
    await request.getByLabel("Comment (optional)", { exact: true }).fill("go ahead");
    await button(request, "Approve").click();
    await expect.poll(mine).toEqual(["approved"]);

    // Alice's page polls every 2 s: the code appears with no click and no reload.
    await alice.getByTestId("totp-code").waitFor({ timeout: 10_000 });
    expect(await markerOf(alice), "alice's page was reloaded").toBe(marker);
    const shown: { code: string; expiresAt: string } = await alice.evaluate(`({
      code: document.querySelector('[data-testid="totp-code"]').textContent,
      expiresAt: document.querySelector('[data-testid="countdown"]').getAttribute("data-expires-at"),
    })`);
    expect(shown.code).toMatch(/^\d{3} \d{3}$/);
    const expected = oathtoolCode(seed.toString("hex"), {
      algorithm: "SHA1",
      digits: 6,
      period: PERIOD,
      unixSeconds: Number(shown.expiresAt) - PERIOD,
    });
    expect(shown.code.replace(" ", "")).toBe(expected);
    // The approval box says what was approved, who approved it and what they said, and for how long.
    expect(await alice.getByTestId("approval-status").textContent()).toBe("Approved");
    expect(await alice.getByTestId("approval-reason").textContent()).toBe(REASON);
    expect(await alice.getByTestId("approval-verdict").textContent()).toBe("Approved by bob: “go ahead”");
    const usable = alice.getByTestId("approval-window");
    expect(await usable.textContent()).toMatch(/^usable for 1[45] more minutes$/);
    expect(Date.parse((await usable.getAttribute("title")) ?? "")).toBeGreaterThan(Date.now());
    await screenshot(alice, "approval-approved-light");

    // The read is on the audit log with the reason and bob's approval.
    const reads = await t.call("GET", "/v1/audit?action=totp.code.read&outcome=allowed", { token: root });
    const read = reads.json.data.entries.find((entry: { reason: string }) => entry.reason === REASON);
    expect(read, "no audited read with alice's reason").toBeDefined();
    expect(read.approval_ids).toHaveLength(1);
  });

  it("shows alice her own requests under My requests, with who decided and what they said, and nothing for her to decide", async () => {
    const denied = await t.call("POST", "/v1/approvals", {
      token: aliceToken,
      body: { key: "aws-prod-root", reason: "INC-9 second look" },
    });
    const bobToken = (
      await t.call("POST", "/v1/auth/userpass/login/bob", { body: { password: PASSWORDS.bob } })
    ).json.auth.client_token;
    const deny = await t.call("POST", `/v1/approvals/${denied.json.data.id}/deny`, {
      token: bobToken,
      body: { comment: "use staging" },
    });
    expect(deny.status).toBe(200);
    const alice = (await as("alice")).page;
    await openUi(alice, t.server.url, "/approvals");
    await heading(alice, "Approvals").waitFor();
    await heading(alice, "My requests").waitFor();
    const mine = alice
      .locator("section")
      .filter({ has: heading(alice, "My requests") })
      .last();
    await expect.poll(() => mine.textContent()).toContain("aws-prod-root");
    const text = (await mine.textContent()) ?? "";
    expect(text).toContain(REASON);
    expect(text).toContain("Approved by bob: “go ahead”");
    expect(text).toContain("Denied by bob: “use staging”");
    expect(await alice.getByRole("button", { name: "Approve", exact: true }).count()).toBe(0);
  });
});
