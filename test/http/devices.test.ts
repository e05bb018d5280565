import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * The registry of physical MFA devices over HTTP (issue 7): records and their checks, the due
 * list by battery and review date, and check-out / check-in under the same rule as a code read
 * of the credential a device names: alice (oncall) reads aws-prod-root with one approval from
 * bob (security); carol is in no group; oscar is an operator.
 */

let t: TestServer;
let root: string;
let hook: Awaited<ReturnType<typeof webhookReceiver>>;
const tokens: Record<string, string> = {};

/** A calendar day `offset` days from today (UTC), as the API takes dates. */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const device = (fields: Record<string, unknown> = {}) => ({
  kind: "hardware-totp",
  serial: `SN-${randomBytes(4).toString("hex")}`,
  label: "AWS root token",
  protects: ["aws-prod-root", "AWS billing root (free text)"],
  location: "Safe A, Berlin office",
  custodian: "erin",
  battery_expires: day(700),
  ...fields,
});

async function add(fields: Record<string, unknown> = {}) {
  const created = await t.call("POST", "/v1/devices", { token: root, body: device(fields) });
  expect(created.status, created.text).toBe(200);
  return created.json.data as { id: string; serial: string; [field: string]: unknown };
}

const checkout = (id: string, who: string, body: Record<string, unknown>) =>
  t.call("POST", `/v1/devices/${id}/checkout`, { token: tokens[who] ?? root, body });
const checkin = (id: string, who: string, body: Record<string, unknown> = {}) =>
  t.call("POST", `/v1/devices/${id}/checkin`, { token: tokens[who] ?? root, body });

async function auditEntries(action: string, outcome: string) {
  const reply = await t.call("GET", `/v1/audit?action=${action}&outcome=${outcome}`, { token: root });
  return reply.json.data.entries as {
    target: string;
    reason: string | null;
    approval_ids: string[];
    details: Record<string, unknown>;
  }[];
}

const deviceCount = async () =>
  (await t.call("GET", "/v1/devices?status=in-safe", { token: root })).json.data.devices.length;

beforeAll(async () => {
  hook = await webhookReceiver();
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS" },
  });
  const people = ["alice", "bob", "carol", "oscar"];
  for (const name of people)
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      token: root,
      body: { password: `${name}'s long password` },
    });
  await t.call("PUT", "/v1/groups/oncall", { token: root, body: { members: ["alice"] } });
  await t.call("PUT", "/v1/groups/security", { token: root, body: { members: ["bob"] } });
  await t.call("PUT", "/v1/groups/ops", {
    token: root,
    body: { members: ["oscar"], policies: ["operator"] },
  });
  const rule = await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    token: root,
    body: {
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      approval_ttl: "10m",
    },
  });
  expect(rule.status).toBe(200);
  const webhook = await t.call("PUT", "/v1/notify/webhooks/safe", {
    token: root,
    body: { url: hook.url, events: ["device.checkout"] },
  });
  expect(webhook.status).toBeLessThan(300);
  for (const name of people)
    tokens[name] = (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name}'s long password` },
      })
    ).json.auth.client_token;
});
afterAll(async () => {
  await t.close();
  await hook.close();
});

describe("the registry", () => {
  it("registers a device in the safe, shows it and lists it, and audits who added it", async () => {
    const created = await add({ notes: "PIN in envelope 4", review_by: day(90) });
    expect(created.id).toMatch(/^dev-[0-9a-f]{12}$/);
    expect(created).toMatchObject({
      kind: "hardware-totp",
      status: "in-safe",
      protects: ["aws-prod-root", "AWS billing root (free text)"],
      battery_expires: day(700),
      review_by: day(90),
      access_rule: null,
      checked_out_by: null,
    });
    expect(created).not.toHaveProperty("due");
    const shown = await t.call("GET", `/v1/devices/${created.id}`, { token: tokens.oscar });
    expect(shown.json.data).toEqual(created);
    const listed = await t.call("GET", "/v1/devices", { token: root });
    expect(listed.json.data.devices.map((d: { id: string }) => d.id)).toContain(created.id);
    expect((await auditEntries("devices.create", "allowed")).at(-1)).toMatchObject({
      target: `device:${created.id}`,
      details: {
        serial: created.serial,
        kind: "hardware-totp",
        label: "AWS root token",
        location: "Safe A, Berlin office",
      },
    });
  });

  it("refuses bad input with a 400 that names the field, and stores nothing", async () => {
    const before = await deviceCount();
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ kind: "usb-stick" }, /^kind must be one of: hardware-totp, fido2/],
      [{ battery_expires: "2027-02-30" }, /^battery_expires must be a date as YYYY-MM-DD/],
      [{ review_by: "next year" }, /^review_by must be a date/],
      [{ battery_expires: null }, /battery_expires or review_by/],
      [{ protects: [] }, /^protects must list from 1 to 50/],
      [
        { protects: Array.from({ length: 51 }, (_, i) => `account-${i}`) },
        /^protects must list from 1 to 50/,
      ],
      [{ protects: ["x".repeat(201)] }, /^protects is too long: at most 200/],
      [{ serial: "x".repeat(201) }, /^serial is too long: at most 200/],
      [{ label: "   " }, /^label must not be empty/],
      [{ location: "Safe A\nSafe B" }, /^body\.location must be one line: no line breaks \(found U\+000A\)$/],
      [{ custodian: "c".repeat(201) }, /^custodian is too long/],
      [{ notes: "n".repeat(4001) }, /^notes is too long: at most 4000/],
      [
        { access_rule: "no-such-credential" },
        /^access_rule must name a credential: there is no key named no-such-credential/,
      ],
      [{ serial: undefined }, /required property 'serial'/],
    ];
    for (const [fields, message] of refusals) {
      const reply = await t.call("POST", "/v1/devices", { token: root, body: device(fields) });
      expect({ fields, status: reply.status }).toEqual({ fields, status: 400 });
      expect(reply.json.errors[0]).toMatch(message);
    }
    expect(await deviceCount()).toBe(before);
  });

  it("refuses a bad window, status or id with a 400, and an unknown device with a 404", async () => {
    for (const query of ["due_within=soon", "due_within=60", "due_within=99999d", "status=misplaced"]) {
      const reply = await t.call("GET", `/v1/devices?${query}`, { token: root });
      expect({ query, status: reply.status }).toEqual({ query, status: 400 });
    }
    expect((await t.call("GET", "/v1/devices?due_within=soon", { token: root })).json.errors[0]).toMatch(
      /due_within must be a number of days or weeks, such as 60d or 8w/,
    );
    const malformed = await t.call("GET", "/v1/devices/the-safe", { token: root });
    expect(malformed.status).toBe(400);
    expect(malformed.json.errors[0]).toMatch(/not a device id: they look like dev-/);
    const unknown = await t.call("GET", "/v1/devices/dev-000000000000", { token: root });
    expect(unknown.status).toBe(404);
    expect((await checkout("dev-000000000000", "root", { reason: "x" })).status).toBe(404);
  });

  it("changes only what a PATCH gives, audits the changed fields, and never sets checked-out", async () => {
    const created = await add();
    const patched = await t.call("PATCH", `/v1/devices/${created.id}`, {
      token: root,
      body: { location: "Safe C, Lisbon", review_by: day(30) },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.data).toMatchObject({
      ...created,
      location: "Safe C, Lisbon",
      review_by: day(30),
      updated_at: expect.any(String),
    });
    expect((await auditEntries("devices.update", "allowed")).at(-1)).toMatchObject({
      target: `device:${created.id}`,
      details: { serial: created.serial, changed: "location,review_by" },
    });
    const bad = [
      [{ status: "checked-out" }, /^status can be set to in-safe, lost, retired/],
      [{ kind: "floppy" }, /^kind must be one of/],
      [{ battery_expires: null, review_by: null }, /battery_expires or review_by/],
    ] as const;
    for (const [body, message] of bad) {
      const reply = await t.call("PATCH", `/v1/devices/${created.id}`, { token: root, body });
      expect(reply.status).toBe(400);
      expect(reply.json.errors[0]).toMatch(message);
    }
    expect((await t.call("GET", `/v1/devices/${created.id}`, { token: root })).json.data).toEqual(
      patched.json.data,
    );
    expect(
      (await t.call("PATCH", `/v1/devices/${created.id}`, { token: tokens.oscar, body: { notes: "x" } }))
        .status,
    ).toBe(403);
  });
});

describe("the due list", () => {
  it("lists batteries and reviews due within the window, overdue first, and never retired or far-off ones", async () => {
    const battery = await add({ battery_expires: day(10) });
    const review = await add({ battery_expires: null, review_by: day(40) });
    const farOff = await add({ battery_expires: day(400) });
    const overdue = await add({ battery_expires: day(500), review_by: day(-3) });
    const retired = await add({ battery_expires: day(5) });
    expect((await t.call("DELETE", `/v1/devices/${retired.id}`, { token: root })).status).toBe(200);
    const mine = [battery.id, review.id, farOff.id, overdue.id, retired.id];
    const due = async (window: string) => {
      const reply = await t.call("GET", `/v1/devices?due_within=${window}`, { token: tokens.oscar });
      expect(reply.status).toBe(200);
      return (reply.json.data.devices as { id: string; due: unknown[] }[]).filter((d) => mine.includes(d.id));
    };
    const sixtyDays = await due("60d");
    expect(sixtyDays.map((d) => d.id)).toEqual([overdue.id, battery.id, review.id]);
    expect(sixtyDays.map((d) => d.due)).toEqual([
      [{ what: "review", date: day(-3), days_left: -3 }],
      [{ what: "battery", date: day(10), days_left: 10 }],
      [{ what: "review", date: day(40), days_left: 40 }],
    ]);
    expect((await due("30d")).map((d) => d.id)).toEqual([overdue.id, battery.id]);
    expect((await due("8w")).map((d) => d.id)).toEqual([overdue.id, battery.id, review.id]);
    expect((await due("0d")).map((d) => d.id)).toEqual([overdue.id]);
    expect((await due("60w")).map((d) => d.id)).toEqual([overdue.id, battery.id, review.id, farOff.id]);
    const retiredOnes = await t.call("GET", "/v1/devices?status=retired", { token: root });
    expect(retiredOnes.json.data.devices.map((d: { id: string }) => d.id)).toEqual([retired.id]);
    const listed = await t.call("GET", "/v1/devices", { token: root });
    expect(listed.json.data.devices.map((d: { id: string }) => d.id)).not.toContain(retired.id);
  });
});

describe("check-out and check-in", () => {
  it("needs a reason (400) and refuses a second check-out (409) naming who has it and since when", async () => {
    const safe = await add();
    const noReason = await checkout(safe.id, "oscar", {});
    expect(noReason.status).toBe(400);
    expect(noReason.json.errors[0]).toBe("a reason is required to check a device out");
    expect((await checkout(safe.id, "oscar", { reason: "   " })).status).toBe(400);
    const out = await checkout(safe.id, "oscar", { reason: "INC-4411 billing lockout" });
    expect(out.status).toBe(200);
    expect(out.json.data).toMatchObject({
      status: "checked-out",
      checked_out_by: "user:oscar",
      checkout_reason: "INC-4411 billing lockout",
    });
    const again = await checkout(safe.id, "root", { reason: "me too" });
    expect(again.status).toBe(409);
    expect(again.json.errors[0]).toBe(
      `device ${safe.id} is already checked out by user:oscar since ${out.json.data.checked_out_at} ("INC-4411 billing lockout")`,
    );
    expect((await auditEntries("devices.checkout", "denied")).at(-1)).toMatchObject({
      target: `device:${safe.id}`,
      reason: "me too",
      details: { problem: "device checked-out", serial: safe.serial },
    });
  });

  it("puts check-out and check-in on the audit export with the serial and the reason", async () => {
    const safe = await add({ serial: "YK-5-0042" });
    expect((await checkout(safe.id, "oscar", { reason: "INC-77 root login" })).status).toBe(200);
    const back = await checkin(safe.id, "oscar", { reason: "done, resealed" });
    expect(back.status).toBe(200);
    expect(back.json.data).toMatchObject({
      status: "in-safe",
      checked_out_by: null,
      checked_out_at: null,
      checkout_reason: null,
    });
    const exported = await t.call("GET", "/v1/audit/export", { token: root });
    const lines = exported.text.trim().split("\n");
    const entries = lines.map((line) => JSON.parse(line)).filter((e) => e.target === `device:${safe.id}`);
    expect(entries.map((e) => [e.action, e.outcome])).toEqual([
      ["devices.create", "allowed"],
      ["devices.checkout", "allowed"],
      ["devices.checkin", "allowed"],
    ]);
    expect(entries[1]).toMatchObject({
      reason: "INC-77 root login",
      details: { serial: "YK-5-0042", label: "AWS root token" },
    });
    expect(entries[2]).toMatchObject({
      reason: "done, resealed",
      details: { serial: "YK-5-0042", checked_out_by: "user:oscar", out_seconds: expect.any(Number) },
    });
    expect(
      lines.filter((line) => line.includes("YK-5-0042") && line.includes("INC-77 root login")),
    ).toHaveLength(1);
  });

  it("without an access rule: only admins and operators check out; check-in by the same person or an operator", async () => {
    const safe = await add();
    const refused = await checkout(safe.id, "alice", { reason: "curious" });
    expect(refused.status).toBe(403);
    expect(refused.json.errors[0]).toMatch(/no access rule: only admins and operators/);
    expect((await checkout(safe.id, "root", { reason: "INC-1" })).status).toBe(200);
    expect((await checkin(safe.id, "carol")).status).toBe(403);
    expect((await checkin(safe.id, "oscar")).status).toBe(200);
    const notOut = await checkin(safe.id, "oscar");
    expect(notOut.status).toBe(409);
    expect(notOut.json.errors[0]).toMatch(/is not checked out \(it is in-safe\)/);
  });

  it("under an access rule: a non-reader is refused, a reader needs an approval, and the entry names the approver", async () => {
    const governed = await add({ access_rule: "aws-prod-root", label: "AWS root YubiKey" });
    const carol = await checkout(governed.id, "carol", { reason: "curious" });
    expect(carol.status).toBe(403);
    expect(carol.json.errors[0]).toMatch(/not a reader of this credential/);
    expect((await checkout(governed.id, "oscar", { reason: "ops" })).status).toBe(403); // the rule, not the role
    const unapproved = await checkout(governed.id, "alice", { reason: "INC-4411" });
    expect(unapproved.status).toBe(403);
    expect(unapproved.json.errors[0]).toMatch(/checking out .* needs 1 approval\(s\): request an approval/);
    expect((await auditEntries("devices.checkout", "denied")).at(-1)).toMatchObject({
      target: `device:${governed.id}`,
      reason: "INC-4411",
      details: { problem: expect.stringMatching(/needs 1 approval/), serial: governed.serial },
    });

    const requested = await t.call("POST", "/v1/approvals", {
      token: tokens.alice,
      body: { key: "aws-prod-root", reason: "INC-4411 take the YubiKey" },
    });
    const approvalId = requested.json.data.id as string;
    expect((await checkout(governed.id, "alice", { reason: "INC-4411", approval: approvalId })).status).toBe(
      403,
    );
    const approved = await t.call("POST", `/v1/approvals/${approvalId}/approve`, {
      token: tokens.bob,
      body: {},
    });
    expect(approved.json.data.status).toBe("approved");
    expect((await checkout(governed.id, "carol", { reason: "x", approval: approvalId })).status).toBe(403);
    // An approval is for one reason: another is refused; none takes the approved one.
    expect((await checkout(governed.id, "alice", { reason: "INC-4411", approval: approvalId })).status).toBe(
      403,
    );
    const out = await checkout(governed.id, "alice", { approval: approvalId });
    expect(out.status).toBe(200);
    expect(out.json.data).toMatchObject({
      status: "checked-out",
      checked_out_by: "user:alice",
      checkout_reason: "INC-4411 take the YubiKey",
    });
    expect((await auditEntries("devices.checkout", "allowed")).at(-1)).toMatchObject({
      target: `device:${governed.id}`,
      reason: "INC-4411 take the YubiKey",
      approval_ids: [approvalId],
      details: { serial: governed.serial, approvers: "user:bob" },
    });
    expect((await checkin(governed.id, "alice", { reason: "back" })).status).toBe(200);
  });

  it("refuses to retire a checked-out device (409); retired or lost, it cannot be checked out, and is kept", async () => {
    const safe = await add();
    expect((await checkout(safe.id, "root", { reason: "audit of the safe" })).status).toBe(200);
    const refused = await t.call("DELETE", `/v1/devices/${safe.id}?reason=broken`, { token: root });
    expect(refused.status).toBe(409);
    expect(refused.json.errors[0]).toMatch(/is checked out by .* check it in first/);
    expect(
      (await t.call("PATCH", `/v1/devices/${safe.id}`, { token: root, body: { status: "in-safe" } })).status,
    ).toBe(409);
    expect((await checkin(safe.id, "root")).status).toBe(200);
    const retired = await t.call("DELETE", `/v1/devices/${safe.id}?reason=battery%20dead`, { token: root });
    expect(retired.status).toBe(200);
    expect(retired.json.data.status).toBe("retired");
    expect((await auditEntries("devices.retire", "allowed")).at(-1)).toMatchObject({
      target: `device:${safe.id}`,
      reason: "battery dead",
      details: { serial: safe.serial },
    });
    expect((await t.call("GET", `/v1/devices/${safe.id}`, { token: root })).json.data.status).toBe("retired");
    const again = await checkout(safe.id, "root", { reason: "x" });
    expect(again.status).toBe(409);
    expect(again.json.errors[0]).toBe(`device ${safe.id} is retired: it cannot be checked out`);
    const lost = await add();
    expect(
      (await t.call("PATCH", `/v1/devices/${lost.id}`, { token: root, body: { status: "lost" } })).status,
    ).toBe(200);
    expect((await checkout(lost.id, "root", { reason: "x" })).json.errors[0]).toMatch(
      /is lost: it cannot be checked out/,
    );
  });

  it("tells the webhook of each check-out and check-in: device, serial, who and why", async () => {
    const safe = await add({ label: "Registrar token", serial: "RT-9" });
    expect((await checkout(safe.id, "oscar", { reason: "INC-12 transfer domain" })).status).toBe(200);
    expect((await checkin(safe.id, "oscar", { reason: "transfer done" })).status).toBe(200);
    const texts = () =>
      hook
        .events()
        .filter((e) => e.event.type === "device.checkout")
        .map((e) => e.text as string);
    await waitFor("both notifications", () => texts().filter((text) => text.includes("RT-9")).length === 2);
    const [out, back] = texts().filter((text) => text.includes("RT-9"));
    expect(out).toBe(
      `user:oscar checked out Registrar token (hardware-totp, serial RT-9, ${safe.id}): "INC-12 transfer domain"`,
    );
    expect(back).toMatch(
      /^user:oscar put Registrar token \(hardware-totp, serial RT-9, dev-[0-9a-f]{12}\) back in the safe after \d+ s: "transfer done"$/,
    );
  });
});
