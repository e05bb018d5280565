import { randomInt } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ServerProcess, startServerProcess } from "../e2e/cli-harness.js";
import {
  addTotpKey,
  fileSinkSeqs,
  initVault,
  missingFrom,
  readCode,
  SMTP_FROM,
  seqsOfCodeReads,
  TEAM,
  unsealNode,
  webhookEvents,
} from "../support/delivery.js";
import { mailEventId, smtpReceiver, waitFor, webhookReceiver } from "../support/receivers.js";
import { seededRandom, wholeNumberFromEnv } from "../support/seeded.js";
import { callApi } from "../support/server.js";
import { newTestStorage, TEST_ENGINE } from "../support/storage.js";
import { tempDir } from "../support/tools.js";

/**
 * "Nothing said is lost" (issue 19): events that could not be delivered when the node was killed
 * with SIGKILL are delivered after it restarts. Per round, with the webhook receiver and the mail
 * server down, N code reads are served; the node is killed; the receivers come up on their ports;
 * the node restarts on the same storage and is unsealed; every one of the N events must then
 * arrive at the webhook, by e-mail and in a file sink. BREAKGLASS_DELIVERY_ROUNDS sets the rounds;
 * BREAKGLASS_CRASH_SEED replays a run's N per round.
 */

const ROUNDS = wholeNumberFromEnv("BREAKGLASS_DELIVERY_ROUNDS", 10);
const SEED = wholeNumberFromEnv("BREAKGLASS_CRASH_SEED", randomInt(2 ** 31));
const KEY = "aws-prod-root";
/** Generous: a restarted node delivers at once; this only bounds a failing run. */
const DELIVERY_TIMEOUT_MS = 30_000;

describe(`events undelivered when the node is killed with SIGKILL (${TEST_ENGINE}, ${ROUNDS} rounds, seed ${SEED})`, () => {
  const work = tempDir("breakglass-delivery-crash-");
  let server: ServerProcess;
  let keys: string[];
  let root: string;
  const summary: string[] = [];

  beforeAll(async () => {
    console.log(`delivery crash test seed ${SEED}: replay with BREAKGLASS_CRASH_SEED=${SEED}`);
    server = await startServerProcess(await newTestStorage());
    ({ keys, root } = await initVault(server.url, 1, 1));
    await unsealNode(server.url, keys);
    await addTotpKey(server.url, root, KEY);
  });
  afterAll(async () => {
    await server?.stop();
    console.log(summary.join("\n"));
  });

  const call = (method: string, path: string, body?: unknown) =>
    callApi(server.url, method, path, { token: root, body });

  /** This round's destinations, each new, pointing at ports nothing listens on; the last round's are deleted. */
  async function configureWhileDown(round: number) {
    const ports = { webhook: await freePort(), smtp: await freePort() };
    const sinkPath = join(work, `audit-round-${round}.jsonl`);
    if (round > 1) {
      expect((await call("DELETE", `/v1/notify/webhooks/round-${round - 1}`)).status).toBe(204);
      expect((await call("DELETE", `/v1/sys/audit/sinks/file-${round - 1}`)).status).toBe(204);
    }
    const webhook = await call("PUT", `/v1/notify/webhooks/round-${round}`, {
      url: `http://127.0.0.1:${ports.webhook}/hook`,
      events: ["code.read"],
    });
    expect(webhook.status, webhook.text).toBe(200);
    const smtp = await call("PUT", "/v1/notify/smtp", {
      host: "127.0.0.1",
      port: ports.smtp,
      secure: false,
      from: SMTP_FROM,
      to: [TEAM],
      events: ["code.read"],
    });
    expect(smtp.status, smtp.text).toBe(204);
    const sink = await call("PUT", `/v1/sys/audit/sinks/file-${round}`, {
      type: "file",
      options: { path: sinkPath },
    });
    expect(sink.status, sink.text).toBe(204);
    return { ports, sinkPath };
  }

  it(
    "after every kill, restart and unseal, each of the round's code reads arrives at the webhook, by e-mail and in the file sink",
    async () => {
      const random = seededRandom(SEED);
      for (let round = 1; round <= ROUNDS; round++) {
        const reads = 3 + Math.floor(random() * 18);
        const { ports, sinkPath } = await configureWhileDown(round);
        const requestIds = await Promise.all(
          Array.from({ length: reads }, (_, i) =>
            readCode(server.url, root, KEY, `delivery-round-${round}-read-${i}`),
          ),
        );
        await server.kill();

        const hook = await webhookReceiver(ports.webhook);
        const smtp = await smtpReceiver("unused", "unused", ports.smtp);
        try {
          server = await startServerProcess(server.storage);
          await unsealNode(server.url, keys);
          const seqs = [...(await seqsOfCodeReads(server.url, root, requestIds)).values()];
          const missing = () => ({
            webhook: missingFrom(
              seqs,
              webhookEvents(hook.requests).map((event) => event.seq),
            ),
            email: missingFrom(
              seqs,
              smtp.mails.map((mail) => mailEventId(mail) ?? -1),
            ),
            file_sink: missingFrom(seqs, fileSinkSeqs(sinkPath)),
          });
          const nothingMissing = () => Object.values(missing()).every((seqs) => seqs.length === 0);
          await waitFor(`round ${round}'s events`, nothingMissing, DELIVERY_TIMEOUT_MS).catch(() => {});
          expect(missing(), `round ${round}: ${reads} reads, seqs ${seqs.join(",")} (seed ${SEED})`).toEqual({
            webhook: [],
            email: [],
            file_sink: [],
          });
          // Every POST names its event by seq in its header too, and the mails to the team.
          for (const event of webhookEvents(hook.requests))
            expect(event.eventIdHeader).toBe(String(event.seq));
          for (const mail of smtp.mails) expect(mail.to).toEqual([TEAM]);
          summary.push(
            `round ${round}: ${reads} reads; webhook ${hook.requests.length} POSTs, ${smtp.mails.length} mails, ` +
              `${fileSinkSeqs(sinkPath).length} entries in the file sink`,
          );
        } finally {
          await hook.close();
          await smtp.close();
        }
      }
    },
    ROUNDS * 45_000,
  );
});
