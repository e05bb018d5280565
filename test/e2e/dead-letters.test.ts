import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTotpKey,
  initVault,
  pollUntil,
  readCode,
  seqsOfCodeReads,
  sinkWebhookSeqs,
  unsealNode,
  webhookEvents,
} from "../support/delivery.js";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { type ApiResponse, callApi } from "../support/server.js";
import { newTestStorage, TEST_ENGINE } from "../support/storage.js";
import { freePort, type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * Dead letters (issue 19): an event a destination never took is kept, with its last error, across
 * restarts (graceful and SIGKILL), listed, and delivered by a redrive once the receiver is up.
 * The server runs with BREAKGLASS_DELIVERY_MAX_ATTEMPTS=2, so a letter dies in about a second.
 */

const KEY = "aws-prod-root";
const ENV = { BREAKGLASS_DELIVERY_MAX_ATTEMPTS: "2" };

interface DeadLetter {
  destination: string;
  seq: number;
  summary: string;
  error: string;
  attempts: number;
  dead_at: string;
}

describe(`dead letters survive restarts and are redriven (${TEST_ENGINE})`, () => {
  let server: ServerProcess;
  let keys: string[];
  let root: string;

  beforeAll(async () => {
    server = await startServerProcess(await newTestStorage(), [], { env: ENV });
    ({ keys, root } = await initVault(server.url, 1, 1));
    await unsealNode(server.url, keys);
    await addTotpKey(server.url, root, KEY);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const call = (method: string, path: string, body?: unknown) =>
    callApi(server.url, method, path, { token: root, body });

  const lettersOf = (answer: ApiResponse): DeadLetter[] => {
    expect(answer.status, answer.text).toBe(200);
    return answer.json.data.dead_letters;
  };

  /** Restarts the node on its storage, gracefully or by SIGKILL, and unseals it. */
  async function restart(how: "graceful" | "SIGKILL"): Promise<void> {
    if (how === "graceful") expect(await server.stop()).toBe(0);
    else await server.kill();
    server = await startServerProcess(server.storage, [], { env: ENV });
    await unsealNode(server.url, keys);
  }

  describe("a notification webhook", () => {
    let port: number;
    let seq: number;
    const list = async () => lettersOf(await call("GET", "/v1/notify/dead-letters"));

    it("lists nothing (200, []) before anything failed", async () => {
      expect(await list()).toEqual([]);
    });

    it("turns a code read the closed port never took into a dead letter with its error and attempts", async () => {
      port = await freePort();
      const configured = await call("PUT", "/v1/notify/webhooks/ops", {
        url: `http://127.0.0.1:${port}/hook`,
        events: ["code.read"],
      });
      expect(configured.status, configured.text).toBe(200);
      const requestId = await readCode(server.url, root, KEY, "INC-4711 dead letter");
      seq = (await seqsOfCodeReads(server.url, root, [requestId])).get(requestId) as number;
      const letters = await pollUntil(list, (letters) => letters.some((letter) => letter.seq === seq));
      expect(letters).toEqual([
        expect.objectContaining({
          destination: "webhook:ops",
          seq,
          summary: expect.stringContaining(KEY),
          error: expect.any(String),
          attempts: 2,
          dead_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        }),
      ]);
      expect(letters[0]?.error).not.toBe("");
      const deliveries = (await call("GET", "/v1/notify/deliveries")).json.data.destinations;
      expect(deliveries).toContainEqual(
        expect.objectContaining({ destination: "webhook:ops", dead_letters: 1, position: seq }),
      );
    });

    it.each(["graceful", "SIGKILL"] as const)("still lists it after a %s restart", async (how) => {
      const before = await list();
      await restart(how);
      expect(await list()).toEqual(before);
    });

    it("redrives it once the receiver is up: delivered, and the list is empty", async () => {
      const hook = await webhookReceiver(port);
      try {
        const redriven = await call("POST", "/v1/notify/dead-letters/redrive", {
          destination: "webhook:ops",
        });
        expect(redriven.status, redriven.text).toBe(200);
        expect(redriven.json.data).toEqual({ redriven: 1 });
        await waitFor("the redriven event", () =>
          webhookEvents(hook.requests).some((event) => event.seq === seq && event.answered),
        );
        const event = webhookEvents(hook.requests).find((event) => event.seq === seq);
        expect(event).toMatchObject({ type: "code.read", eventIdHeader: String(seq) });
        expect(await pollUntil(list, (letters) => letters.length === 0)).toEqual([]);
        // Nothing is left to redrive.
        expect((await call("POST", "/v1/notify/dead-letters/redrive", {})).json.data).toEqual({
          redriven: 0,
        });
      } finally {
        await hook.close();
      }
    });
  });

  describe("an audit sink (webhook, max_attempts 2)", () => {
    let port: number;
    let seq: number;
    const list = async () => lettersOf(await call("GET", "/v1/audit/sinks/dead-letters"));
    const deadSeqs = async () => (await list()).map((letter) => letter.seq);

    it("keeps every entry the closed port never took as a dead letter of sink:NAME", async () => {
      port = await freePort();
      const configured = await call("PUT", "/v1/sys/audit/sinks/siem", {
        type: "webhook",
        options: { url: `http://127.0.0.1:${port}/audit`, max_attempts: 2 },
      });
      expect(configured.status, configured.text).toBe(204);
      const requestId = await readCode(server.url, root, KEY, "INC-4711 dead sink entry");
      seq = (await seqsOfCodeReads(server.url, root, [requestId])).get(requestId) as number;
      // Each list is itself an audit entry for the sink, so the list grows while polled: wait for this one.
      expect(await pollUntil(deadSeqs, (seqs) => seqs.includes(seq))).toContain(seq);
      const letter = (await list()).find((letter) => letter.seq === seq);
      expect(letter).toMatchObject({
        destination: "sink:siem",
        seq,
        error: expect.any(String),
        attempts: 2,
        dead_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });

    it.each(["graceful", "SIGKILL"] as const)("still lists it after a %s restart", async (how) => {
      await restart(how);
      expect(await deadSeqs()).toContain(seq);
    });

    it("redrives them once the receiver is up: the entry is delivered and the list empties", async () => {
      const receiver = await webhookReceiver(port);
      try {
        // Once the sink delivers again no new letter can die, so the redrive below takes them all.
        const sinkState = async () =>
          (await call("GET", "/v1/audit/sinks/deliveries")).json.data.destinations.find(
            (destination: { destination: string }) => destination.destination === "sink:siem",
          );
        expect(await pollUntil(sinkState, (state) => state?.failing === false)).toMatchObject({
          failing: false,
        });
        const redriven = await call("POST", "/v1/audit/sinks/dead-letters/redrive", {});
        expect(redriven.status, redriven.text).toBe(200);
        expect(redriven.json.data.redriven).toBeGreaterThan(0);
        await waitFor("the redriven entry", () => sinkWebhookSeqs(receiver.requests, true).includes(seq));
        expect(await pollUntil(deadSeqs, (seqs) => seqs.length === 0)).toEqual([]);
      } finally {
        await receiver.close();
      }
    });
  });
});
