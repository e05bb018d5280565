import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeviceRecord } from "../../src/core/devices.js";
import { addDevice } from "../support/device-records.js";
import { sleep, waitFor, webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer, tell } from "../support/server.js";
import { skipOutsidePostgresPass } from "../support/storage.js";

/**
 * Device reminders (issue 7): one `device.reminder` per due device per UTC day, through a real
 * webhook receiver, with the job's clock fixed by calling run(now).
 */

const NOW = new Date("2031-05-20T09:00:00Z");
const LATER_THAT_DAY = new Date("2031-05-20T22:30:00Z");
const NEXT_DAY = new Date("2031-05-21T00:30:00Z");

let t: TestServer;
let root: string;
let unsealKeys: string[];
let hook: Awaited<ReturnType<typeof webhookReceiver>>;

beforeEach(async () => {
  hook = await webhookReceiver();
  t = await startTestServer();
  ({ rootToken: root, keys: unsealKeys } = await initAndUnseal(t));
  // The webhook signs with a sealed secret: it is configured, and sends, while unsealed.
  const webhook = await t.call("PUT", "/v1/notify/webhooks/devices", {
    token: root,
    body: { url: hook.url, events: ["device.reminder"] },
  });
  expect(webhook.status).toBeLessThan(300);
});
afterEach(async () => {
  await t?.close();
  await hook?.close();
});

/** Three devices due a reminder on NOW, two that are not. */
async function addDevices(server: TestServer) {
  return {
    battery: await addDevice(server, { label: "YubiKey for AWS root", batteryExpires: "2031-05-30" }),
    review: await addDevice(server, { label: "Registrar token", reviewBy: "2031-05-17", custodian: "bob" }),
    checkedOut: await addDevice(server, {
      label: "IdP recovery token",
      status: "checked-out",
      checkedOutBy: "user:carol",
      checkedOutAt: "2031-05-19T03:00:00.000Z",
      checkoutReason: "INC-7",
    }),
    farOff: await addDevice(server, { batteryExpires: "2032-06-23" }),
    retired: await addDevice(server, { status: "retired", batteryExpires: "2031-05-25" }),
  };
}

const texts = () => hook.events().map((event) => event.text as string);

/**
 * Every reminder sent so far has arrived, and no more come: a sentinel reminder is told after them
 * (a destination is delivered in seq order, by whichever node holds its lease); once it is there,
 * nothing told before is still on its way. The sentinel is then forgotten.
 */
async function expectReminders(count: number, nodes: TestServer[] = [t]) {
  const sentinel = `sentinel ${randomUUID()}`;
  await tell((nodes[0] as TestServer).server.services, {
    type: "device.reminder",
    actor: "breakglass",
    text: sentinel,
  });
  await waitFor(`${count} reminders and the sentinel`, () => texts().includes(sentinel));
  expect(texts().filter((text) => text !== sentinel)).toHaveLength(count);
  expect(hook.requests.length).toBe(count + 1);
  const sent = texts();
  const kept = hook.requests.filter((_request, at) => sent[at] !== sentinel);
  hook.requests.splice(0, hook.requests.length, ...kept);
}

describe("device reminders", () => {
  it("one per due device per UTC day, naming the device; none for one far off or retired; on the audit log", async () => {
    const devices = await addDevices(t);
    const reminders = t.server.services.deviceReminders;

    const first = await reminders.run(NOW);
    expect(first.sort()).toEqual([devices.battery.id, devices.review.id, devices.checkedOut.id].sort());
    await expectReminders(3);
    expect(hook.events().every((event) => event.event.type === "device.reminder")).toBe(true);
    const bySerial = (device: DeviceRecord) => texts().find((text) => text.includes(device.serial));
    expect(bySerial(devices.battery)).toBe(
      `YubiKey for AWS root (serial ${devices.battery.serial}, kept in Safe A, London, custodian alice): battery expires 2031-05-30, in 10 days.`,
    );
    expect(bySerial(devices.review)).toMatch(
      /^Registrar token .*custodian bob\): review due 2031-05-17, 3 days overdue\.$/,
    );
    expect(bySerial(devices.checkedOut)).toMatch(/checked out by user:carol for 30 hours: bring it back\.$/);
    for (const quiet of [devices.farOff, devices.retired]) expect(bySerial(quiet)).toBeUndefined();

    // Later the same day, on this node or after a restart: nothing more.
    expect(await reminders.run(LATER_THAT_DAY)).toEqual([]);
    await t.close();
    t = await startTestServer({ storage: t.storage });
    for (const key of unsealKeys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    expect(await t.server.services.deviceReminders.run(LATER_THAT_DAY)).toEqual([]);
    await expectReminders(3);

    // The next day, again.
    expect(await t.server.services.deviceReminders.run(NEXT_DAY)).toHaveLength(3);
    await expectReminders(6);
    const nextDay = texts().slice(3);
    for (const expected of [
      /battery expires 2031-05-30, in 9 days/,
      /4 days overdue/,
      /for 45 hours: bring it back/,
    ])
      expect(nextDay.filter((text) => expected.test(text))).toHaveLength(1);

    // One entry per reminder, by the system, written with its event.
    const audit = await t.call("GET", "/v1/audit?action=devices.reminders&limit=100", { token: root });
    expect(audit.status).toBe(200);
    const entries = audit.json.data.entries;
    expect(entries).toHaveLength(6);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        actor: "system",
        target: `devices/${entry.details.device}`,
        outcome: "allowed",
      });
      expect(first).toContain(entry.details.device);
    }
    expect(entries.map((entry: { details: { day: string } }) => entry.details.day).sort()).toEqual([
      ...Array(3).fill("2031-05-20"),
      ...Array(3).fill("2031-05-21"),
    ]);
    // The notifications carry the run's request id and their entry's seq, to find it.
    const firstEvent = hook.events()[0].event;
    const itsEntry = entries.find((entry: { seq: number }) => entry.seq === firstEvent.seq);
    expect(itsEntry.details.day).toBe("2031-05-20");
    expect(firstEvent.request_id).toBe(itsEntry.request_id);
  });

  it("runs at the same moment send each reminder once", async () => {
    await addDevices(t);
    const reminders = t.server.services.deviceReminders;
    const runs = await Promise.all([reminders.run(NOW), reminders.run(NOW), reminders.run(NOW)]);
    expect(runs.flat()).toHaveLength(3);
    await expectReminders(3);
  });

  it("a sealed node sends nothing and leaves the day's reminders to an unsealed one", async () => {
    await addDevices(t);
    expect((await t.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
    expect(await t.server.services.deviceReminders.run(NOW)).toEqual([]);
    for (const key of unsealKeys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    // The unseal starts a run of its own (for the server's day, not NOW's); while it holds the
    // duty, a run here does nothing: this one is tried until that one is done.
    let reminded: string[] = [];
    for (const deadline = Date.now() + 5_000; reminded.length === 0 && Date.now() < deadline; await sleep(50))
      reminded = await t.server.services.deviceReminders.run(NOW);
    expect(reminded).toHaveLength(3);
    await expectReminders(3);
  });
});

describe.skipIf(skipOutsidePostgresPass("device reminders on several nodes"))("two nodes", () => {
  it("both running at the same moment send each reminder once between them", async () => {
    const other = await startTestServer({ storage: t.storage });
    try {
      for (const key of unsealKeys.slice(0, 2)) await other.call("PUT", "/v1/sys/unseal", { body: { key } });
      await addDevices(t);
      const [mine, theirs] = await Promise.all([
        t.server.services.deviceReminders.run(NOW),
        other.server.services.deviceReminders.run(NOW),
      ]);
      expect([...mine, ...theirs]).toHaveLength(3);
      await expectReminders(3, [t, other]);
    } finally {
      await other.close();
    }
  });
});
