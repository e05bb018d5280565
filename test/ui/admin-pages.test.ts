import { randomBytes } from "node:crypto";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, type TestServer } from "../support/server.js";
import { oathtoolCode } from "../support/tools.js";
import {
  browserStorage,
  launchBrowser,
  openUi,
  type PageOptions,
  pageTracker,
  SKIP_UI,
  screenshot,
  signInByApi,
  startUiServer,
} from "./browser.js";

/**
 * Issue 18's screens: the approver's badge and inbox pointer, adding a credential from a plain
 * base32 secret, and the access rules' overview with people and groups picked, not typed.
 */

const PASSWORDS = { alice: "alice's long password", bob: "bob's long password!" };
const plainSeed = randomBytes(20);

describe.skipIf(SKIP_UI)("web UI: admin pages (issue 18)", () => {
  let browser: Browser;
  let t: TestServer;
  let root: string;
  let aliceToken: string;
  const pages = pageTracker(() => browser);
  const heading = (page: Page | Locator, name: string) => page.getByRole("heading", { name, exact: true });
  const button = (page: Page | Locator, name: string) => page.getByRole("button", { name, exact: true });
  const ok = async (what: string, answer: Promise<{ status: number; text: string }>) => {
    const { status, text } = await answer;
    if (status >= 300) throw new Error(`${what}: ${status} ${text}`);
  };
  const put = (path: string, body: unknown) => ok(path, t.call("PUT", path, { token: root, body }));

  beforeAll(async () => {
    [browser, t] = await Promise.all([launchBrowser(), startUiServer()]);
    ({ rootToken: root } = await initAndUnseal(t));
    for (const name of ["aws-prod-root", "registrar", "bank"])
      await ok(
        name,
        t.call("POST", `/v1/totp/keys/${name}`, {
          token: root,
          body: { key: encodeBase32Upper(randomBytes(20)), issuer: name, account_name: "root" },
        }),
      );
    for (const [name, password] of Object.entries(PASSWORDS))
      await put(`/v1/auth/userpass/users/${name}`, { password });
    await put("/v1/groups/oncall", { members: ["alice"] });
    await put("/v1/groups/security", { members: ["bob"] });
    // bob approves both and reads neither.
    for (const name of ["aws-prod-root", "registrar"])
      await put(`/v1/totp/access/${name}`, {
        readers: ["group:oncall"],
        approvers: ["user:bob"],
        approvals_required: 1,
        require_reason: true,
        approval_ttl: "10m",
      });
    const login = await t.call("POST", "/v1/auth/userpass/login/alice", {
      body: { password: PASSWORDS.alice },
    });
    aliceToken = login.json.auth.client_token;
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

  const asBob = async (options: PageOptions = {}) => {
    const opened = await pages.open(options);
    await signInByApi(opened.context, t.server.url, { username: "bob", password: PASSWORDS.bob });
    return opened.page;
  };
  const asRoot = async (options: PageOptions = {}) => {
    const opened = await pages.open(options);
    await signInByApi(opened.context, t.server.url, { token: root });
    return opened;
  };
  const request = (key: string) =>
    ok(
      `request ${key}`,
      t.call("POST", "/v1/approvals", { token: aliceToken, body: { key, reason: "INC-18 lockout" } }),
    );

  it("shows an approver-only person the pending count in the navigation and on the credentials page, and counts down after approving", async () => {
    await request("aws-prod-root");
    await request("registrar");
    const bob = await asBob();
    await openUi(bob, t.server.url, "/");
    await bob
      .getByRole("navigation")
      .getByRole("link", { name: "Approvals, 2 pending", exact: true })
      .waitFor();
    // Nothing to read, and a pointer to the work there is.
    const empty = bob.locator(".empty");
    await expect.poll(() => empty.textContent()).toContain("You may not read any credential.");
    expect(await empty.textContent()).toContain("You approve requests: 2 pending → Approvals");
    await screenshot(bob, "approver-only-credentials");
    await empty.getByRole("link", { name: "Approvals", exact: true }).click();
    await heading(bob, "Approvals").waitFor();

    const inbox = bob.getByRole("article").filter({ hasText: "aws-prod-root" });
    await button(inbox, "Approve").click();
    await bob
      .getByRole("navigation")
      .getByRole("link", { name: "Approvals, 1 pending", exact: true })
      .waitFor();

    // On a phone too, the count is in the navigation.
    const phone = await asBob({ phone: true });
    await openUi(phone, t.server.url, "/");
    await phone.getByRole("link", { name: "Approvals, 1 pending", exact: true }).waitFor();
    expect(await phone.getByTestId("pending-approvals").isVisible()).toBe(true);
    await screenshot(phone, "approver-badge-phone");

    // The badge polls approvals/; listing is recorded only when refused, so the chain is not flooded.
    const listed = await t.call("GET", "/v1/audit?action=approval.list", { token: root });
    expect(listed.json.data.entries).toEqual([]);
  });

  it("adds a credential from a plain base32 secret typed with spaces in lower case; its codes are oathtool's", async () => {
    const opened = await asRoot();
    opened.allowRefusal(400, /^\/v1\/totp\/keys\/plain-/);
    const { page } = opened;
    await openUi(page, t.server.url, "/admin/credentials/new");
    await heading(page, "Add a credential").waitFor();
    await page.getByLabel("Name", { exact: true }).fill("plain-secret");
    await page.getByRole("radio", { name: "Secret (base32)", exact: true }).click();
    const secret = page.getByRole("textbox", { name: "Secret (base32)", exact: true });

    // A refusal names the field as the form does.
    await secret.fill("not base32!!");
    await button(page, "Add credential").click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toMatch(/^the secret \(base32\) is not valid base32/);
    // Taken now, while the field holds no seed: screenshots are kept.
    await screenshot(page, "add-credential-secret");

    const spaced = encodeBase32Upper(plainSeed)
      .toLowerCase()
      .replace(/(.{4})/g, "$1 ")
      .trim();
    await secret.fill(spaced);
    await page.getByLabel("Issuer", { exact: true }).fill("Acme");
    await page.getByLabel("Account name", { exact: true }).fill("ops@acme.example");
    // Defaults as the CLI's: 6 digits, 30 seconds, SHA1.
    expect(await page.getByLabel("Digits", { exact: true }).inputValue()).toBe("6");
    expect(await page.getByLabel("Period (seconds)", { exact: true }).inputValue()).toBe("30");
    expect(await page.getByLabel("Algorithm", { exact: true }).inputValue()).toBe("SHA1");
    await button(page, "Add credential").click();
    await page.getByRole("link", { name: "plain-secret", exact: true }).waitFor();
    expect(await secret.inputValue(), "the secret stays in the form").toBe("");
    expect(await browserStorage(page)).not.toMatch(
      new RegExp(encodeBase32Upper(plainSeed).slice(0, 16), "i"),
    );

    const key = await t.call("GET", "/v1/totp/keys/plain-secret", { token: root });
    expect(key.json.data).toMatchObject({
      issuer: "Acme",
      account_name: "ops@acme.example",
      digits: 6,
      period: 30,
      algorithm: "SHA1",
    });
    const read = await t.call("GET", "/v1/totp/code/plain-secret?reason=checking", { token: root });
    expect(read.json.data.code).toBe(
      oathtoolCode(plainSeed.toString("hex"), {
        algorithm: "SHA1",
        digits: 6,
        period: 30,
        unixSeconds: read.json.data.expires_at - 30,
      }),
    );

    // An otpauth URI's problem names the URI, not the API's field.
    await page.getByLabel("Name", { exact: true }).fill("plain-uri");
    await page.getByRole("radio", { name: "otpauth URI", exact: true }).click();
    await page
      .getByLabel("otpauth:// URI", { exact: true })
      .fill("otpauth://totp/Acme:ops?secret=not-base32!!");
    await button(page, "Add credential").click();
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toMatch(/^the otpauth URI's secret is not valid base32/);
  });

  it("lists every credential's rule in one table, edits one from it with people and groups picked, and offers no e-mail without a mail server", async () => {
    const { page } = await asRoot();
    await openUi(page, t.server.url, "/admin/access");
    await heading(page, "Access rules").waitFor();
    const row = (name: string) => page.getByRole("row").filter({ has: page.getByRole("button", { name }) });
    const aws = row("Edit the rule of aws-prod-root");
    await aws.waitFor();
    for (const name of ["Edit the rule of registrar", "Set a rule for bank"]) await row(name).waitFor();
    const awsText = (await aws.textContent()) ?? "";
    for (const fact of ["group:oncall", "user:bob", "Yes", "10m"]) expect(awsText).toContain(fact);
    await screenshot(page, "access-overview");

    await button(page, "Edit the rule of registrar").click();
    const editor = page.getByRole("region", { name: "Rule for registrar", exact: true });
    await editor.waitFor();
    const readers = editor.getByRole("group", { name: "Readers" });
    // People and groups are offered by name; the rule's own are ticked.
    expect(await readers.getByLabel("group:oncall", { exact: true }).isChecked()).toBe(true);
    await readers.getByLabel("group:security", { exact: true }).check();
    await readers.getByLabel("user:alice", { exact: true }).check();
    const notify = editor.getByRole("group", { name: "Notify" });
    expect(await notify.getByLabel(/email/).count(), "e-mail offered without a mail server").toBe(0);
    await button(editor, "Save rule").click();
    await editor.getByText("The access rule of registrar is saved.").waitFor();
    await expect.poll(async () => row("Edit the rule of registrar").textContent()).toContain("user:alice");
    const saved = await t.call("GET", "/v1/totp/access/registrar", { token: root });
    expect(saved.json.data.readers).toEqual(["group:oncall", "group:security", "user:alice"]);

    // A rule for a credential without one, from its row.
    await button(page, "Set a rule for bank").click();
    const bank = page.getByRole("region", { name: "Rule for bank", exact: true });
    await bank.getByRole("group", { name: "Readers" }).getByLabel("user:bob", { exact: true }).check();
    await button(bank, "Save rule").click();
    await page.getByRole("button", { name: "Edit the rule of bank" }).waitFor();

    // With a mail server, e-mail is a channel to tick.
    await put("/v1/notify/smtp", {
      host: "127.0.0.1",
      port: 2525,
      secure: false,
      from: "breakglass@acme.example",
      to: ["security@acme.example"],
      events: ["approval.requested"],
    });
    const phone = (await asRoot({ phone: true })).page;
    await openUi(phone, t.server.url, "/admin/access");
    await button(phone, "Edit the rule of aws-prod-root").click();
    const phoneNotify = phone
      .getByRole("region", { name: "Rule for aws-prod-root", exact: true })
      .getByRole("group", { name: "Notify" });
    await phoneNotify.getByLabel("email (the mail server's recipients)", { exact: true }).waitFor();
    await screenshot(phone, "access-rule-phone");
  });
});
