import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventNotice } from "../../src/services/notify/events.js";
import {
  type Mail,
  type Received,
  signatureVerifies,
  sleep,
  smtpReceiver,
  waitFor,
  webhookReceiver,
} from "../support/receivers.js";
import {
  type ApiResponse,
  initAndUnseal,
  startTestServer,
  type TestServer,
  tell,
} from "../support/server.js";
import { storedBytes } from "../support/storage.js";

/**
 * Notifications, end to end: a real HTTP receiver (node:http) and a real SMTP server
 * (smtp-server). Events are handed to `services.notifier` directly, as the services that emit
 * them do; configuration goes through the API.
 */

const SMTP_USER = "breakglass";
const SMTP_PASSWORD = "smtp-password-7f3e9c2a1b";

let t: TestServer;
let root: string;
let unsealKeys: string[];
let hook: Awaited<ReturnType<typeof webhookReceiver>>;
let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
/** Every answer the server gave in this file: no secret may be in any of them but the one generating it. */
const answers: ApiResponse[] = [];
const secrets: string[] = [SMTP_PASSWORD];

const call = async (method: string, path: string, body?: unknown, token = root) => {
  const response = await t.call(method, path, { token, body });
  answers.push(response);
  return response;
};

function codeRead(): EventNotice & { requestId: string } {
  return {
    type: "code.read",
    actor: "user:alice",
    key: "aws-prod-root",
    reason: "INC-4711 billing alarm",
    text: "alice read the code of aws-prod-root: INC-4711 billing alarm",
    requestId: "req-1",
  };
}

function approvalRequested(): EventNotice {
  return {
    type: "approval.requested",
    actor: "user:alice",
    key: "aws-prod-root",
    reason: "INC-4711 billing alarm",
    approvalId: "appr-1",
    approvers: ["bob"],
    emailTo: ["bob@example.com"],
    text: "alice asks to read the code of aws-prod-root: INC-4711 billing alarm",
  };
}

async function metric(name: string, channel: string): Promise<number> {
  const text = (await t.call("GET", "/metrics")).text;
  const match = text.match(new RegExp(`^${name}\\{channel="${channel}"\\} (\\S+)$`, "m"));
  return match ? Number(match[1]) : 0;
}

beforeAll(async () => {
  t = await startTestServer({ captureLog: true });
  ({ rootToken: root, keys: unsealKeys } = await initAndUnseal(t));
  hook = await webhookReceiver();
  smtp = await smtpReceiver(SMTP_USER, SMTP_PASSWORD);
});

afterAll(async () => {
  await t.close();
  await hook.close();
  await smtp.close();
});

describe("notification configuration", () => {
  it("generates a webhook secret when none is given and shows it once, in the answer to the write", async () => {
    const written = await call("PUT", "/v1/notify/webhooks/ops", { url: hook.url, events: "*" });
    expect(written.status).toBe(200);
    const secret = written.json.data.secret as string;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    secrets.push(secret);

    const read = await call("GET", "/v1/notify/webhooks/ops");
    expect(read.status).toBe(200);
    expect(read.json.data).toMatchObject({ name: "ops", url: hook.url, events: "*", has_secret: true });
    expect(read.text).not.toContain(secret);

    const listed = await call("GET", "/v1/notify/webhooks?list=true");
    expect(listed.json.data.keys).toEqual(["ops"]);
  });

  it("takes a given secret and answers 204, without echoing it", async () => {
    const secret = "approvals-only-secret-0123456789";
    secrets.push(secret);
    const written = await call("POST", "/v1/notify/webhooks/approvals-only", {
      url: `${hook.url}?only=approvals`,
      events: ["approval.requested"],
      secret,
    });
    expect(written.status).toBe(204);
    expect((await call("GET", "/v1/notify/webhooks/approvals-only")).json.data.events).toEqual([
      "approval.requested",
    ]);
  });

  it("stores the mail server and shows it without its password", async () => {
    const written = await call("PUT", "/v1/notify/smtp", {
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      from: "breakglass@example.com",
      to: ["security-team@example.com"],
      username: SMTP_USER,
      password: SMTP_PASSWORD,
    });
    expect(written.status).toBe(204);
    const read = await call("GET", "/v1/notify/smtp");
    expect(read.status).toBe(200);
    expect(read.json.data).toMatchObject({
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      from: "breakglass@example.com",
      to: ["security-team@example.com"],
      username: SMTP_USER,
      events: "*",
      has_password: true,
    });
    expect(read.json.data.password).toBeUndefined();
  });

  it("puts every change on the audit chain", async () => {
    const entries = (await call("GET", "/v1/audit?action=notify.webhook.write")).json.data.entries;
    expect(entries.map((entry: { target: string }) => entry.target)).toEqual(
      expect.arrayContaining(["notify/webhooks/ops", "notify/webhooks/approvals-only"]),
    );
    const smtpWrites = (await call("GET", "/v1/audit?action=notify.smtp.write")).json.data.entries;
    expect(smtpWrites).toHaveLength(1);
    expect(smtpWrites[0].details.password).toBe(true);
  });

  it("refuses anyone without notify.configure", async () => {
    const created = await call("POST", "/v1/auth/token/create", { policies: ["totp-reader"] });
    const reader = created.json.auth.client_token as string;
    expect((await call("PUT", "/v1/notify/webhooks/x", { url: hook.url, events: "*" }, reader)).status).toBe(
      403,
    );
    expect((await call("GET", "/v1/notify/smtp", undefined, reader)).status).toBe(403);
    expect((await call("DELETE", "/v1/notify/smtp", undefined, reader)).status).toBe(403);
  });

  const goodSmtp = {
    host: "mail.example.com",
    port: 587,
    secure: false,
    from: "breakglass@example.com",
    to: ["team@example.com"],
  };
  it.each([
    [
      "webhook: a URL that is not http(s)",
      "webhooks/bad",
      { url: "ftp://example.com/x", events: "*" },
      "url",
    ],
    ["webhook: no URL", "webhooks/bad", { events: "*" }, "url"],
    [
      "webhook: credentials in the URL",
      "webhooks/bad",
      { url: "https://u:p@example.com/", events: "*" },
      "url",
    ],
    [
      "webhook: an unknown event",
      "webhooks/bad",
      { url: "https://example.com/", events: ["code.reed"] },
      "code.reed",
    ],
    ["webhook: no events", "webhooks/bad", { url: "https://example.com/" }, "events"],
    [
      "webhook: a short secret",
      "webhooks/bad",
      { url: "https://example.com/", events: "*", secret: "x" },
      "secret",
    ],
    [
      "webhook: an unknown field",
      "webhooks/bad",
      { url: "https://example.com/", events: "*", evnets: [] },
      "evnets",
    ],
    ["webhook: a bad name", "webhooks/-bad", { url: "https://example.com/", events: "*" }, "name"],
    ["smtp: a port out of range", "smtp", { ...goodSmtp, port: 70000 }, "port"],
    ["smtp: a port as text", "smtp", { ...goodSmtp, port: "587" }, "port"],
    ["smtp: no from", "smtp", { ...goodSmtp, from: undefined }, "from"],
    ["smtp: no to", "smtp", { ...goodSmtp, to: [] }, "to"],
    [
      "smtp: a bad address",
      "smtp",
      { ...goodSmtp, to: ["team@example.com", "not an address"] },
      "not an address",
    ],
    ["smtp: a bad host", "smtp", { ...goodSmtp, host: "mail server" }, "host"],
    ["smtp: a password without a user", "smtp", { ...goodSmtp, password: "x" }, "username"],
    ["smtp: an unknown event", "smtp", { ...goodSmtp, events: ["seal", "nope"] }, "nope"],
  ])("answers 400 and changes nothing for %s", async (_case, path, body, mentions) => {
    const before = [await call("GET", "/v1/notify/webhooks?list=true"), await call("GET", "/v1/notify/smtp")];
    const response = await call("PUT", `/v1/notify/${path}`, body);
    expect(response.status).toBe(400);
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0]).toContain(mentions);
    const after = [await call("GET", "/v1/notify/webhooks?list=true"), await call("GET", "/v1/notify/smtp")];
    expect(after.map((answer) => answer.json)).toEqual(before.map((answer) => answer.json));
  });
});

describe("delivery", () => {
  it("stores each event with its audit entry, then delivers it signed, with its seq, to the webhook", async () => {
    const told = [
      await tell(t.server.services, codeRead()),
      await tell(t.server.services, approvalRequested()),
    ];

    await waitFor("both events at the webhook ops", () => opsRequests().length >= 2);
    const [read, requested] = opsRequests();
    const opsSecret = secrets[1] as string;
    for (const received of [read, requested] as Received[])
      expect(signatureVerifies(received, opsSecret)).toBe(true);
    expect(signatureVerifies(read as Received, "another secret")).toBe(false);
    expect(read?.headers["x-breakglass-event"]).toBe("code.read");
    // The event's id is its audit entry's seq, in the body and a header: receivers deduplicate by it.
    expect(read?.headers["x-breakglass-event-id"]).toBe(String(told[0]?.seq));
    expect(JSON.parse(requested?.body ?? "{}").event.seq).toBe(told[1]?.seq);
    expect(requested?.headers["x-breakglass-event"]).toBe("approval.requested");
    const body = JSON.parse(read?.body ?? "{}");
    expect(body.text).toContain("alice");
    expect(body.event).toMatchObject({
      type: "code.read",
      actor: "user:alice",
      key: "aws-prod-root",
      reason: "INC-4711 billing alarm",
      request_id: "req-1",
    });
    expect(JSON.parse(requested?.body ?? "{}").event).toMatchObject({
      approval_id: "appr-1",
      approvers: ["bob"],
    });
    expect(await metric("breakglass_notifications_sent_total", "webhook:ops")).toBeGreaterThanOrEqual(2);
  });

  it("sends a webhook only the events it subscribed to", async () => {
    // A sentinel it subscribed to, queued after the code.read: each webhook has one queue, in
    // order, so once the sentinel is there, nothing queued before it is still on its way.
    const sentinel = { ...approvalRequested(), approvalId: "appr-sentinel", emailTo: [] };
    await tell(t.server.services, sentinel);
    const hasSentinel = (received: Received[]) =>
      received.some((one) => JSON.parse(one.body).event.approval_id === sentinel.approvalId);
    await waitFor("the sentinel at approvals-only", () => hasSentinel(approvalsOnly()));
    const types = approvalsOnly().map((received) => received.headers["x-breakglass-event"]);
    expect(types).toEqual(["approval.requested", "approval.requested"]);
    expect(approvalsOnly().map((received) => JSON.parse(received.body).event.approval_id)).toEqual([
      "appr-1",
      sentinel.approvalId,
    ]);
    // At ops too, so that it does not arrive while sealed below (the mail tests look at the first two).
    await waitFor("the sentinel at ops", () => hasSentinel(opsRequests()));
    expect(signatureVerifies(approvalsOnly()[0] as Received, secrets[2] as string)).toBe(true);
  });

  it("mails the team every event, and a request for approval also to its approvers", async () => {
    await waitFor("two mails", () => smtp.mails.length >= 2);
    const [read, requested] = smtp.mails as Mail[];
    expect(read?.user).toBe(SMTP_USER);
    expect(read?.from).toBe("breakglass@example.com");
    expect(read?.to).toEqual(["security-team@example.com"]);
    expect(read?.raw).toMatch(/^Subject: alice read the code of aws-prod-root/m);
    expect(read?.raw).toContain("actor: user:alice");
    expect(requested?.to.sort()).toEqual(["bob@example.com", "security-team@example.com"]);
    expect(requested?.raw).toMatch(/^Subject: alice asks to read the code of aws-prod-root/m);
    expect(await metric("breakglass_notifications_sent_total", "smtp")).toBeGreaterThanOrEqual(2);
  });

  it("retries a receiver that is down until it is back, counting the failures", async () => {
    const flaky = await webhookReceiver();
    const { port } = flaky;
    expect(
      (await call("PUT", "/v1/notify/webhooks/flaky", { url: flaky.url, events: ["code.read"] })).status,
    ).toBe(200);
    await flaky.close();
    await tell(t.server.services, codeRead());
    const deadline = Date.now() + 10_000;
    while ((await metric("breakglass_notification_failures_total", "webhook:flaky")) < 2) {
      if (Date.now() > deadline) throw new Error("no failures counted");
      await sleep(100);
    }
    const back = await webhookReceiver(port);
    try {
      await waitFor("the event after the receiver came back", () => back.requests.length >= 1);
      expect(back.events()[0].event.type).toBe("code.read");
      expect(await metric("breakglass_notifications_sent_total", "webhook:flaky")).toBe(1);
    } finally {
      await call("DELETE", "/v1/notify/webhooks/flaky");
      await back.close();
    }
  });

  it("keeps to its backoff while it fails: commits, and redrives that match nothing, do not make it try again sooner", async () => {
    const down = await webhookReceiver();
    const { url } = down;
    await down.close(); // nothing listens there now
    const failures = () => metric("breakglass_notification_failures_total", "webhook:backoff");
    expect((await call("PUT", "/v1/notify/webhooks/backoff", { url, events: ["code.read"] })).status).toBe(
      200,
    );
    try {
      await tell(t.server.services, codeRead());
      const deadline = Date.now() + 10_000;
      while ((await failures()) < 1) {
        if (Date.now() > deadline) throw new Error("no failure counted");
        await sleep(20);
      }
      const before = await failures();
      // A commit and a redrive of no letter every 100 ms for 1.2 s: none ends the backoff
      // (0.5 s, 1 s, 2 s …), so at most two more attempts are made; one per commit would be 12.
      for (let i = 0; i < 12; i++) {
        await tell(t.server.services, codeRead());
        const redrive = await call("POST", "/v1/notify/dead-letters/redrive", { seq: 2 ** 40 });
        expect(redrive.json.data).toEqual({ redriven: 0 });
        await sleep(100);
      }
      expect((await failures()) - before).toBeLessThanOrEqual(3);
    } finally {
      await call("DELETE", "/v1/notify/webhooks/backoff");
    }
  });

  it("prunes the outbox up to the slowest channel's position, never past it", async () => {
    const fast = await webhookReceiver();
    const down = await webhookReceiver();
    const { url } = down;
    await down.close(); // nothing listens there: the channel stays behind
    const { store, notifier } = t.server.services;
    const positionOf = async (destination: string) =>
      (await store.delivery.positions()).find((row) => row.destination === destination)?.position;
    for (const [name, to] of [
      ["fast", fast.url],
      ["slow", url],
    ] as const)
      expect(
        (await call("PUT", `/v1/notify/webhooks/${name}`, { url: to, events: ["code.read"] })).status,
      ).toBe(200);
    // Both started (a channel starts at the newest event), so both owe the event told next.
    for (
      const deadline = Date.now() + 10_000;
      (await positionOf("webhook:slow")) === undefined;
      await sleep(50)
    )
      if (Date.now() > deadline) throw new Error("the slow channel did not start");
    const told = await tell(t.server.services, codeRead());
    // The fast one is past it in the store (positions are written within half a second).
    for (
      const deadline = Date.now() + 10_000;
      ((await positionOf("webhook:fast")) ?? 0) < told.seq;
      await sleep(100)
    )
      if (Date.now() > deadline) throw new Error("the fast channel did not move past the event");
    expect(await positionOf("webhook:slow")).toBeLessThan(told.seq);
    const kept = async () => (await store.delivery.outboxAfter(told.seq - 1, 1))[0]?.seq === told.seq;
    /** The outbox is pruned once every so many re-reads of the channels: this makes one happen now. */
    const pruneNow = async () => {
      for (let i = 0; i < 30; i++) await notifier.refresh();
    };
    try {
      await pruneNow();
      expect(await kept()).toBe(true);
      expect((await call("DELETE", "/v1/notify/webhooks/slow")).status).toBe(204);
      // Without it, every channel left (this file's others too) is past the event once its position is written.
      const allPast = async () =>
        (await store.delivery.positions())
          .filter(({ destination }) => !destination.startsWith("sink:"))
          .every(({ position }) => position >= told.seq);
      for (const deadline = Date.now() + 10_000; !(await allPast()); await sleep(100))
        if (Date.now() > deadline) throw new Error("the channels did not move past the event");
      await pruneNow();
      expect(await kept()).toBe(false);
    } finally {
      await call("DELETE", "/v1/notify/webhooks/slow");
      await call("DELETE", "/v1/notify/webhooks/fast");
      await fast.close();
    }
  });

  it("owes a new webhook what is committed once its PUT has answered: its start is stored before the answer", async () => {
    const late = await webhookReceiver();
    try {
      expect((await call("PUT", "/v1/notify/webhooks/fresh", { url: late.url, events: "*" })).status).toBe(
        200,
      );
      const start = (await t.server.services.store.delivery.positions()).find(
        (row) => row.destination === "webhook:fresh",
      );
      expect(start).toBeDefined();
      const told = await tell(t.server.services, codeRead());
      await waitFor("the event told right after the PUT", () =>
        late.requests.some((received) => received.headers["x-breakglass-event-id"] === String(told.seq)),
      );
    } finally {
      await call("DELETE", "/v1/notify/webhooks/fresh");
      await late.close();
    }
  });

  it("never makes the caller wait for a receiver that hangs", async () => {
    const stuck = await webhookReceiver();
    stuck.hang();
    expect((await call("PUT", "/v1/notify/webhooks/stuck", { url: stuck.url, events: "*" })).status).toBe(
      200,
    );
    await tell(t.server.services, codeRead());
    expect(stuck.requests.length).toBe(0);
    await waitFor("the hanging receiver to be called", () => stuck.requests.length >= 1);
    expect((await call("DELETE", "/v1/notify/webhooks/stuck")).status).toBe(204);
    await stuck.close();
  });

  it("holds events while sealed and sends them after unseal", async () => {
    const before = opsRequests().length;
    // The channel's worker looks, finds it cannot send (its secret is sealed) and holds the event: it says so once.
    const held = () =>
      (t.log().match(/"sink":"webhook:ops"[^\n]*held: cannot send while sealed/g) ?? []).length;
    const heldBefore = held();
    expect((await call("PUT", "/v1/sys/seal")).status).toBe(204);
    await tell(t.server.services, codeRead());
    await waitFor("the event held at webhook:ops", () => held() > heldBefore);
    expect(opsRequests().length).toBe(before);
    for (const key of unsealKeys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    await waitFor("the held event after unseal", () => opsRequests().length > before);
    expect(signatureVerifies(opsRequests().at(-1) as Received, secrets[1] as string)).toBe(true);
  });
});

describe("secrecy", () => {
  it("never shows a secret or the SMTP password in an answer (but the generating one), the log or the store", async () => {
    for (const secret of secrets) {
      const showing = answers.filter((answer) => answer.text.includes(secret));
      expect(showing.length).toBeLessThanOrEqual(1);
      if (showing.length === 1) expect(showing[0]?.status).toBe(200);
      expect(t.log()).not.toContain(secret);
      for (const { where, content } of storedBytes(t.storage)) {
        expect(content.includes(Buffer.from(secret)), `${secret} in ${where}`).toBe(false);
        expect(content.includes(Buffer.from(secret, "utf16le")), `${secret} in ${where}`).toBe(false);
      }
    }
  });

  it("deletes webhooks and the mail server", async () => {
    expect((await call("DELETE", "/v1/notify/webhooks/approvals-only")).status).toBe(204);
    expect((await call("DELETE", "/v1/notify/smtp")).status).toBe(204);
    expect((await call("GET", "/v1/notify/smtp")).status).toBe(404);
    expect((await call("GET", "/v1/notify/webhooks/approvals-only")).status).toBe(404);
    expect((await call("GET", "/v1/notify/webhooks?list=true")).json.data.keys).toEqual(["ops"]);
    expect(
      (await call("GET", "/v1/audit?action=notify.smtp.delete&outcome=allowed")).json.data.entries,
    ).toHaveLength(1);
  });
});

/** The two webhooks share one receiver; approvals-only's URL carries ?only=approvals. */
const isApprovalsOnly = (received: Received) => received.url.includes("only=approvals");
const opsRequests = () => hook.requests.filter((received) => !isApprovalsOnly(received));
const approvalsOnly = () => hook.requests.filter(isApprovalsOnly);
