import { randomBytes } from "node:crypto";
import type { Browser, Download, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dayOf } from "../../src/core/devices.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import {
  launchBrowser,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  signInByApi,
  startUiServer,
  UI_TIMEOUT_MS,
} from "./browser.js";

/**
 * The operators' screens (issue 18): devices and coverage in words a person uses, with one
 * account per issuer and account name; "Seal now" in the top bar for operators; a refused
 * backup said on the page, not saved as a file.
 */

const PASSWORDS = { olga: "olga the operator's password", mike: "mike the member's password" };

describe.skipIf(SKIP_UI)("web UI: operator pages", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let keys: string[];
  const pages = pageTracker(() => browser);
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

  const ok = async (what: string, call: Promise<{ status: number; text: string }>) => {
    const answer = await call;
    if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${answer.text}`);
  };

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root, keys } = await initAndUnseal(t));
    const credential = (name: string, issuer: string, account: string) =>
      ok(
        name,
        t.call("POST", `/v1/totp/keys/${name}`, {
          token: root,
          body: { key: encodeBase32Upper(randomBytes(20)), issuer, account_name: account },
        }),
      );
    // Three virtual MFAs of one AWS root user: one account, not three single-factor ones.
    for (const name of ["aws-root-1", "aws-root-2", "aws-root-3"])
      await credential(name, "AWS", "root@acme.example");
    await credential("registrar", "Gandi", "admin@acme.example");
    const device = (body: Record<string, unknown>) =>
      ok(
        String(body.label),
        t.call("POST", "/v1/devices", {
          token: root,
          body: { kind: "hardware-totp", custodian: "alice", ...body },
        }),
      );
    await device({
      label: "Gandi token",
      serial: "G-1",
      protects: ["registrar"],
      location: "Safe B, Paris",
      battery_expires: dayOf(new Date(Date.now() + 10 * 86_400_000)),
    });
    await device({
      label: "Bank token",
      serial: "B-1",
      protects: ["bank-portal"],
      location: "Safe A",
      review_by: dayOf(new Date(Date.now() + 400 * 86_400_000)),
    });
    for (const [name, password] of Object.entries(PASSWORDS))
      await ok(
        name,
        t.call("PUT", `/v1/auth/userpass/users/${name}`, {
          token: root,
          body: { password, policies: name === "olga" ? ["operator"] : ["member"] },
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

  const signedIn = async (as: { token: string } | keyof typeof PASSWORDS, options = {}) => {
    const opened = await pages.open(options);
    await signInByApi(
      opened.context,
      t.server.url,
      typeof as === "string" ? { username: as, password: PASSWORDS[as] } : as,
    );
    return opened;
  };

  for (const phone of [false, true])
    it(`devices and coverage speak in words, count flags and due dates apart, and group an account (${phone ? "phone" : "desktop"})`, async () => {
      const { page } = await signedIn({ token: root }, { phone });
      await openUi(page, t.server.url, "/admin/devices");
      await heading(page, "Devices and coverage").waitFor();
      // Root (like an admin) has the emergency stop in the top bar too, on a phone within the screen.
      const sealNow = await page.locator("header").getByRole("button", { name: "Seal now" }).boundingBox();
      expect(sealNow).not.toBeNull();
      expect((sealNow?.x ?? 0) + (sealNow?.width ?? 0)).toBeLessThanOrEqual(phone ? 390 : 1280);
      const main = page.locator("main");
      await main.getByText("Bank token").first().waitFor();
      const devices = page.locator("table");
      expect(await devices.textContent()).toContain("Hardware TOTP token");
      expect(await devices.textContent()).toContain("In the safe");

      const summary = page.getByTestId("coverage-summary");
      await expect
        .poll(() => summary.locator("li").allTextContents(), { timeout: UI_TIMEOUT_MS })
        .toEqual([
          "3 accounts, 1 covered",
          "1 account with a single factor",
          "1 account with every factor in one place",
          "1 device due within 30 days",
        ]);
      // The three AWS credentials are one account, with three virtual MFAs kept in breakglass.
      const aws = page.locator("article.coverage-account", {
        has: page.getByRole("heading", { name: "AWS: root@acme.example" }),
      });
      expect(await aws.count()).toBe(1);
      const awsText = (await aws.textContent()) ?? "";
      expect(awsText).toContain("aws-root-1, aws-root-2, aws-root-3");
      // One factor per credential, each under its name.
      expect(await aws.locator("ul.factors li").allTextContents()).toEqual(
        ["aws-root-1", "aws-root-2", "aws-root-3"].map(
          (name) => `${name} (Virtual MFA app) Kept in breakglass`,
        ),
      );
      expect(awsText).toContain("Kept in breakglass");
      expect(await page.getByRole("region", { name: "Needs attention" }).textContent()).toContain(
        "AWS: root@acme.example",
      );
      expect(await page.getByRole("region", { name: "Covered" }).textContent()).toContain(
        "Gandi: admin@acme.example",
      );
      // The wire's values are nowhere on the screen.
      const shown = ((await main.textContent()) ?? "").toLowerCase();
      for (const jargon of [
        "virtual-mfa",
        "in-breakglass",
        "in-safe",
        "hardware-totp",
        "flagged (due within",
      ])
        expect(shown).not.toContain(jargon);
      await screenshot(page, `devices-coverage-${phone ? "phone" : "desktop"}`);
    });

  it("a member sees no Seal now", async () => {
    const { page } = await signedIn("mike");
    await openUi(page, t.server.url);
    await heading(page, "Credentials").waitFor();
    await expect.poll(() => page.locator("header").first().textContent()).toContain("mike");
    expect(await button(page, "Seal now").count()).toBe(0);
  });

  it("an operator seals from the top bar in one click and a confirmation, and sees the unseal screen (phone)", async () => {
    const { page, allowRefusal } = await signedIn("olga", { phone: true });
    // Sealing is the point: a request of the page in flight at that moment is answered 503.
    allowRefusal(503, /^\/v1\//);
    await openUi(page, t.server.url, "/approvals");
    await heading(page, "Approvals").waitFor();
    const sealNow = page.locator("header").getByRole("button", { name: "Seal now", exact: true });
    await sealNow.click();
    const dialog = page.getByRole("dialog", { name: "Seal breakglass now?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/wipes every key.*custodians give a quorum/s);
    // Cancel holds the focus: Enter by mistake does not seal.
    expect(await page.evaluate("document.activeElement?.textContent")).toBe("Cancel");
    await screenshot(page, "seal-now-phone", { fullPage: false });
    await button(page, "Cancel").click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(false);

    await sealNow.click();
    await button(page, "Seal this server now").click();
    await heading(page, "Unseal").waitFor();
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
    for (const key of keys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(false);
    // The unseal screen sees it (it asks every 3 s) and the operator's session goes on.
    await heading(page, "Approvals").waitFor();
  });

  it("a refused backup says why on the page and saves nothing; an allowed one is saved", async () => {
    const refused = await signedIn("olga");
    refused.allowRefusal(403, /^\/v1\/sys\/backup$/);
    const downloads: Download[] = [];
    refused.page.on("download", (download) => downloads.push(download));
    await openUi(refused.page, t.server.url, "/admin/backups");
    await button(refused.page, "Download a backup").click();
    const alert = refused.page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^No backup: permission denied/);
    await button(refused.page, "Download a backup").waitFor();
    expect(await button(refused.page, "Download a backup").isEnabled()).toBe(true);
    expect(downloads).toEqual([]);

    const allowed = await signedIn({ token: root });
    await openUi(allowed.page, t.server.url, "/admin/backups");
    const [download] = await Promise.all([
      allowed.page.waitForEvent("download"),
      button(allowed.page, "Download a backup").click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^breakglass-\d{4}-\d{2}-\d{2}\.bgbackup$/);
    expect(await download.failure()).toBeNull();
    await allowed.page.getByText(/^Saved breakglass-.*\.bgbackup to your downloads\.$/).waitFor();
    expect(await allowed.page.getByRole("alert").count()).toBe(0);
  });
});
