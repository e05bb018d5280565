import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../e2e/cli-harness.js";
import { sleep, waitFor, webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer, tell } from "../support/server.js";
import { tempDir } from "../support/tools.js";

/**
 * A destination behind is said where an operator looks: a warning in health (which `breakglass
 * status` and the UI show) and two gauges, while its oldest undelivered event is older than
 * delivery_warn_after_seconds; it clears once the destination caught up.
 */

let t: TestServer;
const closing: TestServer[] = [];
afterAll(async () => {
  await t?.close();
  for (const server of closing) await server.close();
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const behind = async () =>
  ((await t.call("GET", "/v1/sys/health")).json.warnings as { cause: string; message: string }[]).find(
    (warning) => warning.cause === "delivery_behind",
  );

async function gauge(name: string, destination: string): Promise<number> {
  const text = (await t.call("GET", "/metrics")).text;
  const match = text.match(new RegExp(`^${name}\\{destination="${destination}"\\} (\\S+)$`, "m"));
  return match ? Number(match[1]) : Number.NaN;
}

describe("a destination behind", () => {
  it("is a health warning with its backlog and age while its oldest event waits too long, and clears once delivered", async () => {
    t = await startTestServer({ delivery: { warnAfterSeconds: 1 } });
    const { rootToken } = await initAndUnseal(t);
    const port = await freePort(); // nothing listens there yet
    const put = await t.call("PUT", "/v1/notify/webhooks/late", {
      token: rootToken,
      body: { url: `http://127.0.0.1:${port}/hook`, events: "*" },
    });
    expect(put.status).toBe(200);
    expect(await behind()).toBeUndefined();
    const told = await tell(t.server.services, {
      type: "code.read",
      actor: "user:alice",
      text: "alice read",
    });

    await until("the warning", async () => (await behind()) !== undefined);
    expect((await behind())?.message).toMatch(
      /^notifications or audit sinks behind: webhook:late has \d+ undelivered, the oldest \d+ s old$/,
    );
    expect(await gauge("breakglass_delivery_backlog", "webhook:late")).toBeGreaterThanOrEqual(1);
    expect(await gauge("breakglass_delivery_oldest_seconds", "webhook:late")).toBeGreaterThan(1);
    const state = await t.call("GET", "/v1/notify/deliveries", { token: rootToken });
    expect(state.json.data.destinations).toContainEqual(
      expect.objectContaining({ destination: "webhook:late", failing: true, dead_letters: 0 }),
    );

    const receiver = await webhookReceiver(port);
    try {
      // The next retry comes when its backoff ends (at most 30 s), however many commits meanwhile.
      await waitFor("the event, once the receiver is up", () => receiver.requests.length >= 1, 45_000);
      expect(receiver.requests[0]?.headers["x-breakglass-event-id"]).toBe(String(told.seq));
      await until("the warning to clear", async () => (await behind()) === undefined);
      expect(await gauge("breakglass_delivery_backlog", "webhook:late")).toBe(0);
      expect(await gauge("breakglass_delivery_oldest_seconds", "webhook:late")).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 120_000);
});

describe("a redrive", () => {
  it("refuses a misspelt field, a filter in the query, a wrong type and an unknown destination, redriving nothing", async () => {
    const server = await startTestServer();
    closing.push(server);
    const { rootToken } = await initAndUnseal(server);
    const redrive = (body: unknown, query = "") =>
      server.call("POST", `/v1/notify/dead-letters/redrive${query}`, { token: rootToken, body });
    for (const [body, query, mentions] of [
      [{ destinaton: "smtp" }, "", "unknown fields: destinaton"],
      [{}, "?destination=smtp", "unknown fields: ?destination"],
      [{ seq: -1 }, "", "seq"],
      [{ seq: 1e300 }, "", "seq"],
      [{ seq: 2 ** 53 }, "", "seq"],
      [{ destination: "webhook:nobody" }, "", "destination is not a notification channel here"],
      [{ destination: "sink:x" }, "", "destination is not a notification channel here"],
    ] as const) {
      const since = (await server.server.services.store.readAuditHead())?.seq ?? 0;
      const refused = await redrive(body, query);
      expect({ body, query, status: refused.status }).toEqual({ body, query, status: 400 });
      expect(refused.json.errors[0]).toContain(mentions);
      const recorded = await server.server.services.audit.list({ afterSeq: since });
      expect(recorded.filter((entry) => entry.action === "notify.delivery.redrive")).toEqual([]);
    }
    expect((await redrive({})).json.data).toEqual({ redriven: 0 });
  });
});

describe("a file sink", () => {
  it("keeps its position under this node's name (node_name), not the host's, so a container's new host name starts nothing afresh", async () => {
    const server = await startTestServer({ delivery: { nodeName: "web-1" } });
    closing.push(server);
    const { rootToken } = await initAndUnseal(server);
    const path = join(tempDir("breakglass-node-name-"), "audit.jsonl");
    const put = await server.call("PUT", "/v1/sys/audit/sinks/disk", {
      token: rootToken,
      body: { type: "file", options: { path } },
    });
    expect(put.status).toBe(204);
    await until("the sink's position", async () => {
      const state = await server.call("GET", "/v1/audit/sinks/deliveries", { token: rootToken });
      return (state.json.data.destinations as { destination: string }[]).some(
        (d) => d.destination === `sink:disk@web-1:${path}`,
      );
    });
  });
});
