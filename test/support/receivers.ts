import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/** Real receivers for what the server sends out, and polling for what happens in the background. */

export interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The 200 was written out: the sender could have taken it as delivered (not so for one held until the sender died). */
  answered: boolean;
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
      const received: Received = {
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        answered: false,
      };
      requests.push(received);
      response.once("finish", () => {
        received.answered = !response.socket?.destroyed;
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
    /** Answers 200 to everything held (whose sender is still there), and to everything from now on. */
    release() {
      holding = false;
      for (const response of held.splice(0))
        if (!response.socket?.destroyed) response.writeHead(200).end("ok");
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    events: () => requests.map((request) => JSON.parse(request.body)),
  };
}

export interface Mail {
  from: string;
  to: string[];
  user: string | null;
  raw: string;
}

/** A mail server (smtp-server) that takes mail from `user` with `password` (no TLS: tests only) and keeps it. */
export async function smtpReceiver(user: string, password: string, port = 0) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    // Closing waits this long for a sender's open connection, not smtp-server's 30 s.
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error("invalid credentials"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const mailFrom = session.envelope.mailFrom;
        mails.push({
          from: mailFrom ? mailFrom.address : "",
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          user: (session.user as string | undefined) ?? null,
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  return {
    mails,
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `X-Breakglass-Event-Id` of a mail: the audit seq of the event it tells of (null without one). */
export function mailEventId(mail: Mail): number | null {
  const header = /^X-Breakglass-Event-Id:\s*(\d+)\s*$/im.exec(mail.raw.split(/\r?\n\r?\n/)[0] ?? "");
  return header ? Number(header[1]) : null;
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
