import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTotpKey,
  initVault,
  missingFrom,
  pollUntil,
  readCode,
  seqsOfCodeReads,
  unsealNode,
  webhookEvents,
} from "../support/delivery.js";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { callApi } from "../support/server.js";
import { newTestStorage, skipOutsidePostgresPass, type TestStorage } from "../support/storage.js";
import { tempDir, writeFile } from "../support/tools.js";
import { type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * Delivery from the store with two nodes on one PostgreSQL database (issue 19): each event is
 * delivered by one node whichever served it, a node killed while delivering loses nothing, and
 * the cluster's periodic notices (bus-factor warning, device reminder) go out once, not once per
 * node. Runs in the PostgreSQL pass only.
 */
const onPostgres = !skipOutsidePostgresPass("delivery with several nodes");

const KEY = "aws-prod-root";
/** Both nodes look at custodians and devices every second, so a node deciding on its own would send within one. */
const CHECK_SECONDS = 1;
/** A held delivery's lease lapses in 10 s; then retries back off: this bounds a failing run only. */
const TAKEOVER_TIMEOUT_MS = 60_000;

describe.skipIf(!onPostgres)("deliveries with two nodes on one PostgreSQL database", () => {
  let storage: TestStorage;
  let config: string;
  let node1: ServerProcess;
  let node2: ServerProcess;
  let keys: string[];
  let root: string;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  const events = () => webhookEvents(hook.requests);

  beforeAll(async () => {
    storage = await newTestStorage("postgres");
    config = writeFile(
      tempDir(),
      "breakglass.json",
      JSON.stringify({ custody_check_seconds: CHECK_SECONDS, device_reminder_check_seconds: CHECK_SECONDS }),
    );
    [node1, node2] = await Promise.all([
      startServerProcess(storage, ["--config", config]),
      startServerProcess(storage, ["--config", config]),
    ]);
    // Three shares, two needed: the bus factor wants all three custodians drilled.
    ({ keys, root } = await initVault(node1.url, 3, 2));
    for (const node of [node1, node2]) await unsealNode(node.url, keys);
    await addTotpKey(node1.url, root, KEY);
    hook = await webhookReceiver();
    const webhook = await callApi(node1.url, "PUT", "/v1/notify/webhooks/ops", {
      token: root,
      body: { url: hook.url, events: ["code.read", "custody", "device.reminder"] },
    });
    expect(webhook.status, webhook.text).toBe(200);
  });
  afterAll(async () => {
    await Promise.all([node1?.stop(), node2?.stop()]);
    await hook?.close();
  });

  /**
   * A code read on each node, waited for at the receiver: one destination delivers in seq order,
   * so once both are there every event committed before them has been sent.
   */
  async function sentinels(): Promise<void> {
    const ids = await Promise.all([node1, node2].map((node) => readCode(node.url, root, KEY, "sentinel")));
    await waitFor("the sentinel reads", () =>
      ids.every((id) => events().some((event) => event.requestId === id && event.answered)),
    );
  }

  /**
   * Lets each node run its periodic check a few more times after a notice arrived, then flushes:
   * a node that decided on its own would have sent its copy by then.
   */
  async function afterMoreChecks(): Promise<void> {
    const until = Date.now() + 3 * CHECK_SECONDS * 1000;
    await waitFor("three more checks on each node", () => Date.now() >= until);
    await sentinels();
  }

  /** The events of `type` whose text matches, after seq `after`. */
  const matching = (type: string, pattern: RegExp, after = 0) =>
    events().filter((event) => event.type === type && pattern.test(event.text) && event.seq > after);
  const expectOnce = (type: string, pattern: RegExp, after = 0) => {
    const found = matching(type, pattern, after).map((event) => `seq ${event.seq}: ${event.text}`);
    const all = events()
      .filter((event) => event.type === type)
      .map((event) => `seq ${event.seq}: ${event.text}`);
    expect(found, `${type} events matching ${pattern}, among ${JSON.stringify(all)}`).toEqual([
      expect.any(String),
    ]);
  };

  it("M code reads spread over both nodes make exactly M deliveries, one per read, each with its seq", async () => {
    const perNode = 20;
    const reads = (node: ServerProcess) =>
      Promise.all(Array.from({ length: perNode }, (_, i) => readCode(node.url, root, KEY, `spread ${i}`)));
    const ids = (await Promise.all([reads(node1), reads(node2)])).flat();
    const seqs = await seqsOfCodeReads(node1.url, root, ids);
    const undelivered = () => ids.filter((id) => !events().some((event) => event.requestId === id));
    await waitFor(`${ids.length} deliveries`, () => undelivered().length === 0).catch(() => {});
    expect(undelivered().map((id) => `${id} (seq ${seqs.get(id)})`)).toEqual([]);
    await sentinels();
    const delivered = events().filter((event) => event.requestId !== null && seqs.has(event.requestId));
    expect(delivered).toHaveLength(ids.length);
    expect(new Set(delivered.map((event) => event.seq))).toEqual(new Set(seqs.values()));
    for (const event of delivered) {
      expect(event.seq).toBe(seqs.get(event.requestId as string));
      expect(event.eventIdHeader).toBe(String(event.seq));
    }
  });

  it("the bus-factor warning's clearing and its return are each delivered once", async () => {
    // A new vault starts with the warning: once it is decided (perhaps before the webhook was
    // there to hear it), drills can clear it.
    const warned = async () =>
      (
        await callApi(node1.url, "GET", "/v1/audit?action=sys.custodians.bus-factor", { token: root })
      ).json.data.entries.some((entry: { details: { warning: boolean } }) => entry.details.warning);
    await pollUntil(warned, (yes) => yes);
    expect(await warned()).toBe(true);
    for (const key of keys) {
      const drill = await callApi(node1.url, "PUT", "/v1/sys/custodians/drill", { body: { key } });
      expect(drill.status, drill.text).toBe(200);
    }
    const restored = /bus factor restored/;
    await waitFor("the warning clearing", () => matching("custody", restored).length > 0);
    await afterMoreChecks();
    expectOnce("custody", restored);

    // A rekey makes new shares nobody has drilled: the warning is back.
    const started = await callApi(node1.url, "PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    expect(started.status, started.text).toBe(200);
    let done = await callApi(node1.url, "PUT", "/v1/sys/rekey/update", {
      body: { key: keys[0], nonce: started.json.nonce },
    });
    done = await callApi(node1.url, "PUT", "/v1/sys/rekey/update", {
      body: { key: keys[1], nonce: started.json.nonce },
    });
    expect(done.json.complete, done.text).toBe(true);
    keys = done.json.keys;
    const rekeyed = () => matching("custody", /was rekeyed/)[0]?.seq ?? Number.POSITIVE_INFINITY;
    const warning = /only 0 of 3 custodians/;
    await waitFor(
      "the rekey and the warning after it",
      () => matching("custody", warning, rekeyed()).length > 0,
    );
    await afterMoreChecks();
    expectOnce("custody", warning, rekeyed());
  });

  it("a device due a reminder is reminded of once", async () => {
    const serial = `SN-${randomBytes(4).toString("hex")}`;
    const inTenDays = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const created = await callApi(node1.url, "POST", "/v1/devices", {
      token: root,
      body: {
        kind: "hardware-totp",
        serial,
        label: "AWS root token",
        protects: [KEY],
        location: "Safe A, Berlin office",
        custodian: "erin",
        battery_expires: inTenDays,
      },
    });
    expect(created.status, created.text).toBe(200);
    const reminder = new RegExp(`serial ${serial}`);
    await waitFor("the reminder", () => matching("device.reminder", reminder).length > 0);
    await afterMoreChecks();
    expectOnce("device.reminder", reminder);
  });

  it(
    "a node killed (SIGKILL) while it holds the delivery lease with an event in flight loses nothing: the other node delivers every one",
    async () => {
      // Node 1 alone, so it is the one holding the lease when the receiver holds its POST.
      expect(await node2.stop()).toBe(0);
      hook.hold();
      const fromNode1 = await Promise.all(
        Array.from({ length: 8 }, (_, i) => readCode(node1.url, root, KEY, `in flight ${i}`)),
      );
      await waitFor("a delivery in flight", () =>
        events().some((event) => event.requestId !== null && fromNode1.includes(event.requestId)),
      );
      node2 = await startServerProcess(storage, ["--config", config]);
      await unsealNode(node2.url, keys);
      const fromNode2 = await Promise.all(
        Array.from({ length: 4 }, (_, i) => readCode(node2.url, root, KEY, `behind ${i}`)),
      );
      await node1.kill();
      hook.release();

      const ids = [...fromNode1, ...fromNode2];
      const seqs = [...(await seqsOfCodeReads(node2.url, root, ids)).values()];
      const acknowledged = () =>
        events()
          .filter((event) => event.answered)
          .map((event) => event.seq);
      await waitFor(
        "every event acknowledged",
        () => missingFrom(seqs, acknowledged()).length === 0,
        TAKEOVER_TIMEOUT_MS,
      ).catch(() => {});
      expect(missingFrom(seqs, acknowledged()), `seqs ${seqs.join(",")}`).toEqual([]);
    },
    TAKEOVER_TIMEOUT_MS + 30_000,
  );
});
