import { randomBytes } from "node:crypto";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
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
 * Issue 19 on the notifications page: each destination's delivery state, the dead letters, and
 * Redrive / Redrive all, against a real server whose webhook points at a port nobody listens on,
 * then at a real receiver on that port.
 */

const ADMIN_PASSWORD = "erin's long admin password";

describe.skipIf(SKIP_UI)("web UI: notification deliveries and dead letters (issue 19)", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  /** A port that refuses connections until a receiver is started on it. */
  let port: number;
  const pages = pageTracker(() => browser);
  const heading = (page: Page | Locator, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page | Locator, name: string) => page.getByRole("button", { name, exact: true });
  const ok = async (what: string, answer: Promise<{ status: number; text: string }>) => {
    const { status, text } = await answer;
    if (status >= 300) throw new Error(`${what}: ${status} ${text}`);
  };
  const deadLetters = async (): Promise<{ destination: string; seq: number }[]> =>
    (await t.call("GET", "/v1/notify/dead-letters", { token: root })).json.data.dead_letters;
  /** Reads a code (one code.read event, sent to the webhook) and returns the audit seq that recorded it. */
  const readCode = async (reason: string): Promise<number> => {
    await ok(
      "read",
      t.call("GET", `/v1/totp/code/aws-prod-root?reason=${encodeURIComponent(reason)}`, { token: root }),
    );
    const listed = await t.call("GET", "/v1/audit?action=totp.code.read", { token: root });
    const entry = listed.json.data.entries.find((e: { reason?: string }) => e.reason === reason);
    if (!entry) throw new Error(`no audit entry for the read "${reason}": ${listed.text}`);
    return entry.seq;
  };
  const waitForDeadLetters = (count: number) =>
    expect.poll(async () => (await deadLetters()).length, { timeout: 30_000, interval: 200 }).toBe(count);

  beforeAll(async () => {
    // Two attempts (0.5 s apart) instead of twelve over minutes.
    [browser, t] = await Promise.all([launchBrowser(), startUiServer({ delivery: { maxAttempts: 2 } })]);
    ({ rootToken: root } = await initAndUnseal(t));
    await ok(
      "key",
      t.call("POST", "/v1/totp/keys/aws-prod-root", {
        token: root,
        body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS", account_name: "root" },
      }),
    );
    await ok(
      "erin",
      t.call("PUT", "/v1/auth/userpass/users/erin", { token: root, body: { password: ADMIN_PASSWORD } }),
    );
    await ok(
      "admins",
      t.call("PUT", "/v1/groups/admins", { token: root, body: { members: ["erin"], policies: ["admin"] } }),
    );
    // A free port, closed again: deliveries to it are refused.
    const probe = await webhookReceiver();
    port = probe.port;
    await probe.close();
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

  const asAdmin = async (options: { phone?: boolean; dark?: boolean } = {}) => {
    const opened = await pages.open(options);
    await signInByApi(opened.context, t.server.url, { username: "erin", password: ADMIN_PASSWORD });
    return opened.page;
  };
  const openNotifications = async (page: Page) => {
    await openUi(page, t.server.url, "/admin/notifications");
    await heading(page, "Dead letters").waitFor();
  };
  const section = (page: Page, name: string) => page.getByRole("region", { name, exact: true });
  /** Clicks Reload until `where` says `text` (delivery happens in the background). */
  const reloadUntil = (page: Page, where: Locator, text: string) =>
    expect
      .poll(
        async () => {
          await button(page, "Reload").click();
          return where.textContent();
        },
        { timeout: 30_000, interval: 300 },
      )
      .toContain(text);

  it("says in a plain sentence that there is nothing to deliver and no dead letter", async () => {
    const page = await asAdmin();
    await openNotifications(page);
    await section(page, "Delivery").getByText("No destinations yet.", { exact: true }).waitFor();
    await section(page, "Dead letters").getByText("No dead letters.", { exact: true }).waitFor();
    expect(await button(page, "Redrive all").count()).toBe(0);
  });

  it("shows a refused webhook's dead letter with its error and attempts, and redrives it to the receiver now listening", async () => {
    await ok(
      "webhook",
      t.call("PUT", "/v1/notify/webhooks/ops", {
        token: root,
        body: { url: `http://127.0.0.1:${port}/hook`, events: ["code.read"] },
      }),
    );
    const seq = await readCode("INC-19 first");
    await waitForDeadLetters(1);

    const page = await asAdmin();
    await openNotifications(page);
    const state = section(page, "Delivery").getByRole("row").filter({ hasText: "webhook:ops" });
    await state.waitFor();
    expect(await state.getByRole("cell").nth(4).textContent(), "dead letters of webhook:ops").toBe("1");
    expect(await state.getByRole("cell").nth(3).textContent(), "failing, with the last error").toMatch(
      /^Failing.*ECONNREFUSED/,
    );

    const letter = section(page, "Dead letters")
      .getByRole("row")
      .filter({ hasText: `#${seq}` });
    await letter.waitFor();
    const cells = await letter.getByRole("cell").allTextContents();
    expect(cells[0]).toBe("webhook:ops");
    expect(cells[2], "summary").toContain("aws-prod-root");
    expect(cells[3], "the last error").not.toBe("");
    expect(cells[4], "attempts").toBe("2");
    await screenshot(page, "notifications-dead-letters");

    const receiver = await webhookReceiver(port);
    try {
      await page.getByRole("button", { name: `Redrive event ${seq} to webhook:ops`, exact: true }).click();
      await page
        .getByRole("status")
        .getByText(/^1 dead letter queued for delivery again/)
        .waitFor();
      // The list is read again at once: the letter is sending again (or already gone), no longer offered.
      await page
        .getByRole("button", { name: `Redrive event ${seq} to webhook:ops`, exact: true })
        .waitFor({ state: "detached" });
      await expect
        .poll(() => receiver.requests.map((r) => r.headers["x-breakglass-event-id"]), { timeout: 30_000 })
        .toContain(String(seq));
      await reloadUntil(page, section(page, "Dead letters"), "No dead letters.");
      expect(await deadLetters()).toEqual([]);
      await expect
        .poll(async () =>
          section(page, "Delivery").getByRole("row").filter({ hasText: "webhook:ops" }).textContent(),
        )
        .toContain("Up to date");
    } finally {
      await receiver.close();
    }
  });

  it("redrives every dead letter with Redrive all, on a phone", async () => {
    const first = await readCode("INC-19 second");
    const second = await readCode("INC-19 third");
    await waitForDeadLetters(2);

    const page = await asAdmin({ phone: true, dark: true });
    await openNotifications(page);
    for (const seq of [first, second])
      await page.getByRole("button", { name: `Redrive event ${seq} to webhook:ops`, exact: true }).waitFor();
    await screenshot(page, "notifications-dead-letters-phone-dark");

    const receiver = await webhookReceiver(port);
    try {
      await button(page, "Redrive all").click();
      await page
        .getByRole("status")
        .getByText(/^2 dead letters queued for delivery again/)
        .waitFor();
      await page
        .getByRole("button", { name: /^Redrive event / })
        .first()
        .waitFor({ state: "detached" });
      await expect
        .poll(() => [...new Set(receiver.requests.map((r) => r.headers["x-breakglass-event-id"]))].sort(), {
          timeout: 30_000,
        })
        .toEqual([String(first), String(second)].sort());
      await reloadUntil(page, section(page, "Dead letters"), "No dead letters.");
      expect(await deadLetters()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it("shows what waits while the receiver holds an event: one undelivered, its age, delivering", async () => {
    const receiver = await webhookReceiver(port);
    try {
      receiver.hold();
      await readCode("INC-19 held");
      await expect.poll(() => receiver.requests.length, { timeout: 30_000 }).toBeGreaterThan(0);

      const page = await asAdmin();
      await openNotifications(page);
      const state = section(page, "Delivery").getByRole("row").filter({ hasText: "webhook:ops" });
      await state.waitFor();
      const cells = await state.getByRole("cell").allTextContents();
      expect(cells[1], "undelivered").toBe("1");
      expect(cells[2], "the oldest's age").toMatch(/^\d+ seconds? ago$/);
      expect(cells[3]).toBe("Delivering");
      await screenshot(page, "notifications-delivering");

      receiver.release();
      await reloadUntil(page, state, "Up to date");
    } finally {
      await receiver.close();
    }
  });
});
