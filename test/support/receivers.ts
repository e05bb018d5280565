import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Real receivers for what the server sends out, and polling for what happens in the background. */

export interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: records every POST; answers 200, or never (`hang`), or once released (`hold`). */
export async function webhookReceiver(port = 0) {
  const requests: Received[] = [];
  let hang = false;
  let holding = false;
  const held: ServerResponse[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      if (holding) held.push(response);
      else if (!hang) response.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    requests,
    port: (server.address() as AddressInfo).port,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hang() {
      hang = true;
    },
    /** Answers nothing until `release`: whatever waits on this receiver stays in flight. */
    hold() {
      holding = true;
    },
    /** Answers 200 to everything held, and to everything from now on. */
    release() {
      holding = false;
      for (const response of held.splice(0)) response.writeHead(200).end("ok");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    events: () => requests.map((request) => JSON.parse(request.body)),
  };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Verifies a delivery as docs/notifications.md tells a receiver to. */
export function signatureVerifies(received: Received, secret: string): boolean {
  const timestamp = String(received.headers["x-breakglass-timestamp"]);
  const expected = `sha256=${createHmac("sha256", secret).update(`${timestamp}.${received.body}`).digest("hex")}`;
  const given = Buffer.from(String(received.headers["x-breakglass-signature"]));
  const skew = Math.abs(Date.now() / 1000 - Number(timestamp));
  return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected)) && skew < 300;
}
