import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { sleep } from "../support/receivers.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import { oathtoolCode, qrencodePng, tempDir } from "../support/tools.js";
import {
  browserStorage,
  launchBrowser,
  markerOf,
  openUi,
  pageTracker,
  SKIP_UI,
  screenshot,
  setMarker,
  signInByApi,
  startUiServer,
  UI_TIMEOUT_MS,
} from "./browser.js";

/**
 * The everyday screens, signed in as root: the credentials list, adding a credential from a QR
 * image made by qrencode, and the code view — its code checked against oathtool, its countdown
 * against the clock, and the next code arriving at the step boundary without a reload.
 */

const PERIOD = 30;
const seed = randomBytes(20);
const seedHex = seed.toString("hex");
const qrSeed = randomBytes(20);
const codeAt = (hex: string, unixSeconds: number) =>
  oathtoolCode(hex, { algorithm: "SHA1", digits: 6, period: PERIOD, unixSeconds });

/** What the code view shows, read in one go in the page (so it cannot straddle a step boundary). */
interface Shown {
  code: string;
  next: string | null;
  countdown: number;
  expiresAt: number;
  /** The page's clock when it was read: the same clock as the server's and the test's. */
  now: number;
}

async function shownCode(page: Page): Promise<Shown> {
  const raw: { code: string; next: string | null; countdown: string; expiresAt: string; now: number } =
    await page.evaluate(`(() => {
      const text = (id) => document.querySelector('[data-testid="' + id + '"]')?.textContent ?? null;
      const countdown = document.querySelector('[data-testid="countdown"]');
      return { code: text("totp-code"), next: text("next-code"), countdown: countdown?.textContent ?? "",
        expiresAt: countdown?.getAttribute("data-expires-at") ?? "", now: Date.now() };
    })()`);
  return {
    code: raw.code ?? "",
    next: raw.next,
    countdown: Number(raw.countdown.trim()),
    expiresAt: Number(raw.expiresAt),
    now: raw.now,
  };
}

describe.skipIf(SKIP_UI)("web UI: credentials and codes", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  const pages = pageTracker(() => browser);
  const heading = (page: Page, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    const add = async (name: string, body: Record<string, unknown>) => {
      const created = await t.call("POST", `/v1/totp/keys/${name}`, { token: root, body });
      if (created.status >= 300) throw new Error(`adding ${name}: ${created.text}`);
    };
    await add("aws-prod-root", {
      key: encodeBase32Upper(seed),
      issuer: "AWS",
      account_name: "root@acme.example",
      period: PERIOD,
    });
    await add("registrar", {
      key: encodeBase32Upper(randomBytes(20)),
      issuer: "Gandi",
      account_name: "acme-dns",
    });
    await add("idp-admin", {
      key: encodeBase32Upper(randomBytes(20)),
      issuer: "Okta",
      account_name: "superadmin",
    });
    await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: [] } });
    await t.call("PUT", "/v1/groups/security", { token: root, body: { members: [] } });
    const rule = await t.call("PUT", "/v1/totp/access/registrar", {
      token: root,
      body: {
        readers: ["group:oncall"],
        approvers: ["group:security"],
        approvals_required: 1,
        require_reason: true,
      },
    });
    if (rule.status >= 300) throw new Error(`access rule: ${rule.text}`);
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
    return opened;
  }

  it("lists the credentials with their rules, links each to its page, and searches them", async () => {
    const { page } = await signedIn();
    await openUi(page, t.server.url, "/");
    await heading(page, "Credentials").waitFor();
    for (const column of ["Name", "Issuer", "Account", "Who may read", "Approval"])
      await page.getByRole("columnheader", { name: column, exact: true }).waitFor();
    for (const name of ["aws-prod-root", "idp-admin", "registrar"]) {
      const link = page.getByRole("row").getByRole("link", { name, exact: true });
      expect(await link.getAttribute("href")).toBe(`/ui/credentials/${name}`);
    }
    const registrarRow = page.getByRole("row").filter({ has: page.getByRole("link", { name: "registrar" }) });
    expect(await registrarRow.textContent()).toContain("Gandi");
    expect(await registrarRow.textContent()).toContain("group:oncall");
    await screenshot(page, "credentials-light");

    await page.getByLabel("Search credentials", { exact: true }).fill("regis");
    await expect.poll(() => page.getByRole("row").getByRole("link").allTextContents()).toEqual(["registrar"]);
    await page.getByLabel("Search credentials", { exact: true }).fill("");
    await expect.poll(() => page.getByRole("row").getByRole("link").count()).toBe(3);

    // Following a link opens the credential's page without reloading the app.
    const marker = await setMarker(page);
    await page.getByRole("link", { name: "aws-prod-root", exact: true }).click();
    await heading(page, "aws-prod-root").waitFor();
    expect(new URL(page.url()).pathname).toBe("/ui/credentials/aws-prod-root");
    expect(await markerOf(page)).toBe(marker);

    const dark = await signedIn({ dark: true });
    await openUi(dark.page, t.server.url, "/");
    await dark.page.getByRole("link", { name: "registrar", exact: true }).waitFor();
    await screenshot(dark.page, "credentials-dark");
  });

  it("adds a credential from a QR image made by qrencode", async () => {
    const uri = `otpauth://totp/Acme:ops%40acme.example?secret=${encodeBase32Upper(qrSeed)}&issuer=Acme&algorithm=SHA1&digits=6&period=${PERIOD}`;
    const png = qrencodePng(uri, tempDir("breakglass-ui-qr-"));
    const { page } = await signedIn();
    await openUi(page, t.server.url, "/admin/credentials/new");
    await heading(page, "Add a credential").waitFor();
    await page.getByLabel("Name", { exact: true }).fill("acme-ops");
    await page
      .getByRole("tab", { name: "QR image", exact: true })
      .or(page.getByRole("radio", { name: "QR image", exact: true }))
      .or(page.getByRole("button", { name: "QR image", exact: true }))
      .click();
    await page.getByLabel("QR code image", { exact: true }).setInputFiles(png);
    await screenshot(page, "add-credential-light");
    await button(page, "Add credential").click();
    await expect
      .poll(async () => (await page.getByRole("status").allTextContents()).join(" ").trim(), {
        timeout: UI_TIMEOUT_MS,
      })
      .toMatch(/acme-ops|added/i);
    expect(await page.getByRole("alert").count(), "an error is shown").toBe(0);

    // The server holds the seed the QR code carried: its codes are oathtool's.
    const key = await t.call("GET", "/v1/totp/keys/acme-ops", { token: root });
    expect(key.status).toBe(200);
    expect(key.json.data).toMatchObject({ issuer: "Acme", account_name: "ops@acme.example", period: PERIOD });
    const read = await t.call("GET", "/v1/totp/code/acme-ops?reason=checking%20the%20QR%20import", {
      token: root,
    });
    expect(read.status).toBe(200);
    expect(read.json.data.code).toBe(codeAt(qrSeed.toString("hex"), read.json.data.expires_at - PERIOD));
    expect(await browserStorage(page)).not.toContain(encodeBase32Upper(qrSeed));
  });

  it("shows oathtool's code with a true countdown, then the next code at the step boundary without a reload", async () => {
    const reason = `UI test ${randomBytes(3).toString("hex")}`;
    const { page, context } = await signedIn();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.server.url });
    await openUi(page, t.server.url, "/credentials/aws-prod-root");
    await heading(page, "aws-prod-root").waitFor();
    await page.getByLabel("Reason", { exact: true }).fill(reason);
    // Not within a few seconds of a boundary: the first checks want a code with time left.
    const left = PERIOD - ((Date.now() / 1000) % PERIOD);
    if (left < 4) await sleep(left * 1000 + 300);
    await button(page, "Show code").click();
    await page.getByTestId("totp-code").waitFor();
    await page.getByTestId("countdown").waitFor();

    const first = await shownCode(page);
    expect(first.code).toMatch(/^\d{3} \d{3}$/);
    expect(first.expiresAt % PERIOD).toBe(0);
    expect(first.now / 1000).toBeGreaterThanOrEqual(first.expiresAt - PERIOD - 1);
    expect(first.now / 1000).toBeLessThan(first.expiresAt);
    expect(first.code.replace(" ", "")).toBe(codeAt(seedHex, first.expiresAt - PERIOD));
    // The whole seconds left, redrawn every so often: within a second of expires_at − now.
    const samples: number[] = [];
    for (let i = 0; i < 4; i++) {
      const sample = await shownCode(page);
      samples.push(sample.countdown - (sample.expiresAt - sample.now / 1000));
      await sleep(150);
    }
    expect(
      Math.min(...samples.map(Math.abs)),
      `countdown − (expires_at − now): ${samples}`,
    ).toBeLessThanOrEqual(1);
    // Never far off either: a redraw late under load is forgiven, a countdown off by seconds is not.
    expect(Math.max(...samples.map(Math.abs)), `countdown − (expires_at − now): ${samples}`).toBeLessThan(2);
    // An SVG ring drawn with attributes, not inline styles (the CSP forbids those).
    expect(await page.locator("svg circle[stroke-dashoffset]").count()).toBeGreaterThan(0);

    await button(page, "Copy code").click();
    await expect
      .poll(() => page.evaluate("navigator.clipboard.readText()"))
      .toBe(first.code.replace(" ", ""));
    // Clicking the code itself copies it too, and says so in a live region.
    await page.evaluate("navigator.clipboard.writeText('')");
    await page.getByTestId("totp-code").click();
    await expect
      .poll(() => page.evaluate("navigator.clipboard.readText()"))
      .toBe(first.code.replace(" ", ""));
    expect(await page.getByTestId("copy-status").getAttribute("aria-live")).toBe("polite");
    await expect.poll(() => page.getByTestId("copy-status").textContent()).toBe("Copied");
    // Shown once, the button reads again, and says each read is on the record.
    expect(await button(page, "Show code").count()).toBe(0);
    await button(page, "Read again").waitFor();
    expect(await page.getByTestId("read-again-hint").textContent()).toMatch(/recorded on the audit log/);

    // Across the boundary: the next code replaces it, with no reload and no click.
    const marker = await setMarker(page);
    const waitMs = (first.expiresAt - Date.now() / 1000) * 1000 + 8_000;
    await expect
      .poll(async () => (await shownCode(page)).expiresAt, { timeout: waitMs, interval: 250 })
      .toBe(first.expiresAt + PERIOD);
    await expect
      .poll(async () => (await shownCode(page)).code.replace(" ", ""))
      .toBe(codeAt(seedHex, first.expiresAt));
    expect(await markerOf(page), "the page was reloaded").toBe(marker);
    const second = await shownCode(page);
    expect(Math.abs(second.countdown - (second.expiresAt - second.now / 1000))).toBeLessThan(2);

    // Both reads are on the audit log with the reason given once.
    const audit = await t.call(
      "GET",
      `/v1/audit?action=totp.code.read&target=totp/keys/aws-prod-root&q=${encodeURIComponent(reason)}`,
      { token: root },
    );
    expect(audit.json.data.entries.length).toBeGreaterThanOrEqual(2);

    // Enrolment: one action, two consecutive codes labelled now and next, both on screen at 1280×800.
    await button(page, "Show two consecutive codes").click();
    await page.getByTestId("next-code").waitFor();
    const enrol = await shownCode(page);
    expect(enrol.code.replace(" ", "")).toBe(codeAt(seedHex, enrol.expiresAt - PERIOD));
    expect(enrol.next?.replace(" ", "")).toBe(codeAt(seedHex, enrol.expiresAt));
    expect(await page.locator(".code-label").allTextContents()).toEqual(["Now", "Next"]);
    await button(page, "Read two codes again").waitFor();
    expect(await button(page, "Show code").count()).toBe(0);
    const viewport = page.viewportSize() as { width: number; height: number };
    expect(viewport).toEqual({ width: 1280, height: 800 });
    for (const id of ["totp-code", "next-code"]) {
      const box = await page.getByTestId(id).boundingBox();
      expect(box, id).not.toBeNull();
      const { x, y, width, height } = box as { x: number; y: number; width: number; height: number };
      expect([x, y, x + width <= viewport.width, y + height <= viewport.height], id).toEqual([
        expect.any(Number),
        expect.any(Number),
        true,
        true,
      ]);
      expect(Math.min(x, y), id).toBeGreaterThanOrEqual(0);
    }
    expect(
      await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
    ).toBeLessThanOrEqual(0);
    await screenshot(page, "code-light");
    expect(await browserStorage(page)).not.toContain(first.code.replace(" ", ""));
  });

  it("shows the code view in dark and at phone width, where reading again and clicking the code to copy work", async () => {
    for (const options of [{ dark: true }, { phone: true }, { phone: true, dark: true }]) {
      const { page, context } = await signedIn(options);
      await openUi(page, t.server.url, "/credentials/aws-prod-root");
      await page.getByLabel("Reason", { exact: true }).fill("INC-4411 billing lockout");
      await button(page, "Show code").click();
      await page.getByTestId("totp-code").waitFor();
      const shown = await shownCode(page);
      expect(shown.code.replace(" ", "")).toBe(codeAt(seedHex, shown.expiresAt - PERIOD));
      if (options.phone) {
        // Usable at phone width: nothing wider than the screen.
        const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow, "the page scrolls sideways at 390 px").toBeLessThanOrEqual(0);
        await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.server.url });
        const reads = async () =>
          (
            await t.call("GET", "/v1/audit?action=totp.code.read&target=totp/keys/aws-prod-root", {
              token: root,
            })
          ).json.data.entries.length;
        const readsBefore = await reads();
        await button(page, "Read again").click();
        await expect.poll(reads).toBe(readsBefore + 1);
        const before = (await shownCode(page)).code.replace(" ", "");
        await page.getByTestId("totp-code").click();
        await expect.poll(() => page.getByTestId("copy-status").textContent()).toBe("Copied");
        const after = (await shownCode(page)).code.replace(" ", ""); // a step boundary may pass meanwhile
        expect([before, after]).toContain(await page.evaluate("navigator.clipboard.readText()"));
      }
      await screenshot(page, `code-${options.phone ? "phone-" : ""}${options.dark ? "dark" : "light"}`, {
        fullPage: !options.phone,
      });
    }
  });
});
