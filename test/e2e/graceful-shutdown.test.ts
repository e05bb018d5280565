import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { type ApiResponse, callApi } from "../support/server.js";
import { newTestStorage, type TestStorage } from "../support/storage.js";
import { tempDir, writeFile } from "../support/tools.js";
import { type ServerProcess, startServerProcess } from "./cli-harness.js";

/**
 * SIGTERM on `breakglass server` while code reads are in flight. They are held there
 * deterministically: a required webhook audit sink whose receiver holds its answers, so every
 * read has its entry committed and waits for the sink's acknowledgement before its code leaves.
 */

const READS = 5;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
let servers: ServerProcess[] = [];

afterEach(async () => {
  receiver?.release();
  for (const server of servers) await server.kill();
  servers = [];
  await receiver?.close();
});

/** A server on `storage` whose every request waits for the receiver; initialised, unsealed, with one key. */
async function serverWithRequiredSink(storage: TestStorage, settings: object = {}) {
  const config = writeFile(
    tempDir("breakglass-e2e-shutdown-"),
    "breakglass.json",
    JSON.stringify({
      audit_sinks: {
        witness: { type: "webhook", required: true, options: { url: receiver.url, timeout_ms: 120_000 } },
      },
      ...settings,
    }),
  );
  const server = await startServerProcess(storage, ["--config", config]);
  servers.push(server);
  const init = await callApi(server.url, "PUT", "/v1/sys/init", {
    body: { secret_shares: 1, secret_threshold: 1 },
  });
  const [share] = init.json.keys as string[];
  const rootToken = init.json.root_token as string;
  await callApi(server.url, "PUT", "/v1/sys/unseal", { body: { key: share } });
  const added = await callApi(server.url, "POST", "/v1/totp/keys/aws-prod-root", {
    token: rootToken,
    body: { key: "JBSWY3DPEHPK3PXP" },
  });
  expect(added.status).toBe(204);
  return { server, share: share as string, rootToken };
}

/** Code reads started while the receiver holds, and resolved once every one of them waits for the sink. */
async function readsInFlight(server: ServerProcess, rootToken: string, count: number) {
  receiver.hold();
  const reads = Array.from({ length: count }, (_, i) =>
    callApi(server.url, "GET", `/v1/totp/code/aws-prod-root?reason=INC-${i}`, { token: rootToken }),
  );
  for (;;) {
    const metrics = (await callApi(server.url, "GET", "/metrics")).text;
    const queued = Number(metrics.match(/^breakglass_audit_sink_queue\{sink="witness"\} (\d+)$/m)?.[1] ?? 0);
    if (queued >= count) return reads;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a new TCP connection to the server's port is refused. */
function connectionRefused(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
  });
}

async function waitForRefusedConnections(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await connectionRefused(url)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the server still accepts connections while shutting down");
}

describe("graceful shutdown of breakglass server", () => {
  it("SIGTERM: no new connections, every read in flight answered with its code, exit 0; the chain holds every read", async () => {
    receiver = await webhookReceiver();
    const storage = await newTestStorage();
    const { server, share, rootToken } = await serverWithRequiredSink(storage);
    const reads = await readsInFlight(server, rootToken, READS);

    const exited = server.stop();
    await waitFor("the shutdown line", () => server.log().includes("shutting down"));
    await waitForRefusedConnections(server.url);
    receiver.release();

    const answers: ApiResponse[] = await Promise.all(reads);
    expect(answers.map((answer) => answer.status)).toEqual(Array(READS).fill(200));
    for (const answer of answers) expect(answer.json.data.code).toMatch(/^\d{6}$/);
    expect(await exited).toBe(0);
    expect(server.log()).toContain("shut down cleanly");

    const restarted = await startServerProcess(storage);
    servers.push(restarted);
    await callApi(restarted.url, "PUT", "/v1/sys/unseal", { body: { key: share } });
    const verify = await callApi(restarted.url, "GET", "/v1/audit/verify", { token: rootToken });
    expect(verify.json.data).toMatchObject({ intact: true, problem: null });
    const recorded = (
      await callApi(restarted.url, "GET", "/v1/audit?action=totp.code.read&limit=1000", { token: rootToken })
    ).json.data.entries as { request_id: string; outcome: string; details: { step: number } }[];
    for (const answer of answers)
      expect(recorded).toContainEqual(
        expect.objectContaining({
          request_id: answer.headers.get("x-request-id"),
          outcome: "allowed",
          details: expect.objectContaining({ step: answer.json.data.step }),
        }),
      );
  });

  it("a second signal during the shutdown ends it at once: exit 1, and a log line says so", async () => {
    receiver = await webhookReceiver();
    const { server, rootToken } = await serverWithRequiredSink(await newTestStorage());
    const read = Promise.allSettled(await readsInFlight(server, rootToken, 1));
    server.stop();
    await waitFor("the shutdown line", () => server.log().includes("shutting down"));
    expect(await server.stop()).toBe(1);
    expect(server.log()).toContain("second signal during shutdown: exiting at once, requests unfinished");
    expect((await read)[0]?.status).toBe("rejected");
  });

  it("a shutdown unfinished after shutdown_timeout_seconds exits 1 with a log line; what was committed still verifies", async () => {
    receiver = await webhookReceiver();
    const storage = await newTestStorage();
    const { server, share, rootToken } = await serverWithRequiredSink(storage, {
      shutdown_timeout_seconds: 1,
    });
    const read = Promise.allSettled(await readsInFlight(server, rootToken, 1));
    expect(await server.stop()).toBe(1);
    expect(server.log()).toContain("shutdown did not finish in time: exiting, requests unfinished");
    expect((await read)[0]?.status).toBe("rejected");

    const restarted = await startServerProcess(storage);
    servers.push(restarted);
    await callApi(restarted.url, "PUT", "/v1/sys/unseal", { body: { key: share } });
    const verify = await callApi(restarted.url, "GET", "/v1/audit/verify", { token: rootToken });
    expect(verify.json.data).toMatchObject({ intact: true, problem: null });
  });
});
