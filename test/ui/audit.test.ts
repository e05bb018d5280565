import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import { openRawDatabase } from "../support/storage.js";
import {
  launchBrowser,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  signInByApi,
  startUiServer,
} from "./browser.js";

/**
 * The audit screen: the entries, one entry's every field, and "Verify chain" — intact, then
 * broken at the very entry an intruder edited in the database.
 */

const REASON = "quarterly access review";

describe.skipIf(SKIP_UI)("web UI: audit log", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let readSeq: number;
  const pages = pageTracker(() => browser);
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    await t.call("POST", "/v1/totp/keys/aws-prod-root", {
      token: root,
      body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS" },
    });
    const read = await t.call("GET", `/v1/totp/code/aws-prod-root?reason=${encodeURIComponent(REASON)}`, {
      token: root,
    });
    if (read.status !== 200) throw new Error(`code read: ${read.text}`);
    const entries = (await t.call("GET", "/v1/audit?action=totp.code.read", { token: root })).json.data
      .entries;
    readSeq = entries.find((entry: { reason: string }) => entry.reason === REASON).seq;
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

  async function signedIn(options: { dark?: boolean } = {}) {
    const opened = await pages.open(options);
    await signInByApi(opened.context, t.server.url, { token: root });
    await openUi(opened.page, t.server.url, "/audit");
    await heading(opened.page, "Audit log").waitFor();
    return opened;
  }

  it("lists the entries and shows every field of one", async () => {
    const { page } = await signedIn();
    const row = page.getByRole("row").filter({ hasText: REASON });
    await row.waitFor();
    expect(await row.textContent()).toContain("totp.code.read");
    const entry = (
      await t.call("GET", `/v1/audit?action=totp.code.read`, { token: root })
    ).json.data.entries.find((e: { seq: number }) => e.seq === readSeq);
    await row.click();
    await expect.poll(() => page.locator("main").textContent()).toContain(entry.hash);
    expect(await page.locator("main").textContent()).toContain(entry.prev_hash);

    const exportLink = page.getByRole("link", { name: "Export", exact: true });
    const exportHref = (await exportLink.getAttribute("href")) ?? "";
    expect(exportHref).toMatch(/^\/v1\/audit\/export\b/);
    // The link works with the session cookie alone: the browser downloads it (Sec-Fetch-Site: same-origin).
    const [download] = await Promise.all([page.waitForEvent("download"), exportLink.click()]);
    expect(await download.failure()).toBeNull();
    expect(readFileSync((await download.path()) as string, "utf8")).toContain(REASON);
    await screenshot(page, "audit-light", { fullPage: false });
  });

  it("verifies the chain intact, then names the entry edited in the database", async () => {
    const { page } = await signedIn();
    await button(page, "Verify chain").click();
    await expect.poll(() => page.getByTestId("verify-result").textContent()).toMatch(/^\s*Chain intact/);

    const db = await openRawDatabase(t.storage);
    try {
      await db.run("update audit_entries set reason = 'nothing to see' where seq = ?", [readSeq]);
    } finally {
      await db.close();
    }
    await button(page, "Verify chain").click();
    await expect
      .poll(() => page.getByTestId("verify-result").textContent())
      .toMatch(new RegExp(`^\\s*Chain broken at entry #${readSeq}\\b`));
    await screenshot(page, "audit-broken-light", { fullPage: false });

    const dark = await signedIn({ dark: true });
    await button(dark.page, "Verify chain").click();
    await expect.poll(() => dark.page.getByTestId("verify-result").textContent()).toMatch(/^\s*Chain broken/);
    await screenshot(dark.page, "audit-dark", { fullPage: false });
  });
});
