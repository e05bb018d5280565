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
 * broken at the very entry an intruder edited in the database. And the auditor's morning (issue
 * 18): newest first, the person as actor, housekeeping hidden, one line per entry at 1280 px.
 */

const REASON = "quarterly access review";
const LONG_REASON = `INC-9 ${"the payment provider locked the root account and support needs a code ".repeat(5)}end`;
const ALICE_PASSWORD = "alice has a long password for the UI";

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
    await t.call("PUT", "/v1/auth/userpass/users/alice", { token: root, body: { password: ALICE_PASSWORD } });
    await t.call("PUT", "/v1/groups/oncall", {
      token: root,
      body: { members: ["alice"], policies: ["totp-reader"] },
    });
    const alice = (
      await t.call("POST", "/v1/auth/userpass/login/alice", { body: { password: ALICE_PASSWORD } })
    ).json.auth.client_token;
    const long = await t.call(
      "GET",
      `/v1/totp/code/aws-prod-root?reason=${encodeURIComponent(LONG_REASON)}`,
      { token: alice },
    );
    if (long.status !== 200) throw new Error(`code read: ${long.text}`);
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

  async function signedIn(options: { dark?: boolean; phone?: boolean } = {}) {
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

  const rowSeqs = async (page: Page) =>
    (await page.locator("tbody tr td:first-child").allTextContents()).map((text) =>
      Number(text.replace(/\D/g, "")),
    );
  const columnTexts = async (page: Page, label: string) =>
    page.locator(`tbody td[data-label="${label}"]`).allTextContents();

  it("shows the newest first, the last 7 days, without housekeeping; the checkbox shows it", async () => {
    const { page } = await signedIn();
    await page.getByRole("row").filter({ hasText: "INC-9" }).waitFor();
    const seqs = await rowSeqs(page);
    expect(seqs.length).toBeGreaterThan(3);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(await page.getByLabel("Period").inputValue()).toBe("7d");
    const actions = await columnTexts(page, "Action");
    expect(actions).not.toContain("audit.read");
    expect(actions).toContain("totp.code.read");
    await page.getByLabel("Show housekeeping").check();
    await button(page, "Apply filters").click();
    await expect.poll(() => columnTexts(page, "Action")).toContain("audit.read");

    await page.getByLabel("Period").selectOption("dates");
    await page.getByLabel("Since").fill("2999-01-01");
    await button(page, "Apply filters").click();
    await page.getByText("No entries match.").waitFor();
    await page.getByLabel("Period").selectOption("all");
    await button(page, "Apply filters").click();
    await expect.poll(() => rowSeqs(page)).toContain(1);
  });

  it("names the person as actor, with the token's name, and filters by the person as typed", async () => {
    const { page } = await signedIn();
    const row = page.getByRole("row").filter({ hasText: "INC-9" });
    await row.waitFor();
    expect(await row.locator('td[data-label="Actor"]').textContent()).toBe("alice userpass-alice");
    // An admin gets the people as suggestions.
    await page.getByLabel("Actor").focus();
    await expect
      .poll(() =>
        page
          .locator("datalist option")
          .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)),
      )
      .toEqual(["alice"]);
    for (const typed of ["alice", "user:alice"]) {
      await page.getByLabel("Actor").fill(typed);
      await button(page, "Apply filters").click();
      await expect
        .poll(async () => new Set((await columnTexts(page, "Actor")).map((actor) => actor.split(" ")[0])))
        .toEqual(new Set(["alice"]));
    }
    await page.getByLabel("Actor").fill("nobody");
    await button(page, "Apply filters").click();
    await page.getByText("No entries match.").waitFor();
  });

  it("fits 1280 px: no horizontal scroll, compact times with the zone in the heading, a long reason on one line that opens whole", async () => {
    const { page } = await signedIn();
    const row = page.getByRole("row").filter({ hasText: "INC-9" });
    await row.waitFor();
    const fits = () =>
      page.evaluate(() => {
        const root = document.documentElement;
        const table = document.querySelector(".audit-table")?.getBoundingClientRect();
        return {
          page: root.scrollWidth <= root.clientWidth,
          table: table !== undefined && table.right <= root.clientWidth,
        };
      });
    expect(await fits()).toEqual({ page: true, table: true });
    const heights = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((tr) => tr.getBoundingClientRect().height));
    const longHeight = (await row.boundingBox())?.height ?? 0;
    expect(longHeight).toBeLessThanOrEqual(Math.min(...heights) + 2);
    expect(longHeight).toBeLessThan(48); // one line of text and its padding
    const time = row.locator("time");
    expect(await time.textContent()).toMatch(/^\w{3} \d{1,2}, \d\d:\d\d:\d\d$/);
    expect(await time.getAttribute("title")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await page.getByRole("columnheader", { name: /^Time \(UTC([+-]\d+(:\d\d)?)?\)$/ }).count()).toBe(
      1,
    );
    await screenshot(page, "audit-desktop", { fullPage: false });

    await row.click();
    await expect.poll(() => page.locator(".audit-detail").textContent()).toContain(LONG_REASON);
    expect(await page.locator(".audit-detail").textContent()).toContain("userpass-alice");
    expect(await fits()).toEqual({ page: true, table: true });
    await screenshot(page, "audit-desktop-detail", { fullPage: false });
  });

  it("on a phone: each entry a card, no horizontal scroll, the long reason on one line", async () => {
    const { page } = await signedIn({ phone: true });
    const row = page.getByRole("row").filter({ hasText: "INC-9" });
    await row.waitFor();
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
    ).toBe(true);
    const reason = row.locator('td[data-label="Reason"]');
    const lineHeight = await reason.evaluate(
      (cell) => Number.parseFloat(getComputedStyle(cell).lineHeight) || 24,
    );
    // The cell's own label above, and one line of reason.
    expect((await reason.boundingBox())?.height ?? 0).toBeLessThan(lineHeight * 2.6);
    await screenshot(page, "audit-phone", { fullPage: false });
  });

  it("loads older entries at the bottom, still newest first; page loads add no token look-ups", async () => {
    const lookups = async () =>
      (await t.call("GET", "/v1/audit?action=token.lookup-self&limit=100000", { token: root })).json.data
        .entries.length;
    const before = await lookups();
    for (let read = 0; read < 100; read++)
      await t.call("GET", `/v1/totp/code/aws-prod-root?reason=batch-${read}`, { token: root });
    const { page } = await signedIn();
    await page.getByRole("row").filter({ hasText: "batch-99" }).waitFor();
    expect(await rowSeqs(page)).toHaveLength(100);
    await button(page, "Load older entries").click();
    await expect.poll(async () => (await rowSeqs(page)).length).toBeGreaterThan(100);
    const seqs = await rowSeqs(page);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    await signedIn();
    expect(await lookups()).toBe(before);
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
