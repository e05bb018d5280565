import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, auditLine } from "../../src/core/audit-chain.js";
import { type RunningServer, startServer } from "../../src/server/start.js";
import { freePort, spawnServer } from "../e2e/cli-harness.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { callApi, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import {
  newTestStorage,
  serverStorageOptions,
  skipOutsidePostgresPass,
  storedBytes,
} from "../support/storage.js";
import { tempDir, writeFile } from "../support/tools.js";

/**
 * Audit sinks, end to end: real files, real syslog and webhook listeners. Whatever a sink got
 * must be byte-for-byte what `GET /v1/audit/export` has for the same sequence numbers.
 */

let t: TestServer;
let root: string;
let unsealKeys: string[];
const KEY = "aws-prod-root";
const onPostgres = !skipOutsidePostgresPass("audit sinks on several nodes");

beforeAll(async () => {
  t = await startTestServer({ captureLog: true });
  ({ rootToken: root, keys: unsealKeys } = await initAndUnseal(t));
  const created = await t.call("POST", `/v1/totp/keys/${KEY}`, {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS" },
  });
  expect(created.status).toBe(204);
});
afterAll(async () => {
  await t.close();
});

const putSink = (name: string, body: unknown) =>
  t.call("PUT", `/v1/sys/audit/sinks/${name}`, { token: root, body });
const deleteSink = (name: string) => t.call("DELETE", `/v1/sys/audit/sinks/${name}`, { token: root });
const readCode = (query = "") => t.call("GET", `/v1/totp/code/${KEY}${query}`, { token: root });

/** The export, by sequence number (it appends its own read and a checkpoint, and ends with them). */
async function exportedLines(server: { call: TestServer["call"] } = t, token = root) {
  const response = await server.call("GET", "/v1/audit/export", { token });
  expect(response.status).toBe(200);
  const bySeq = new Map<number, string>();
  for (const line of response.text.split("\n").filter(Boolean)) bySeq.set(seqOf(line), line);
  const last = Math.max(...bySeq.keys());
  /** The export's lines from `first` to its end. */
  const from = (first: number) =>
    [...bySeq.entries()].filter(([seq]) => seq >= first).map(([, line]) => line);
  return { bySeq, last, from };
}

/** The first entry a sink configured through the API must have: the one after its own write entry. */
function firstSeqFor(bySeq: Map<number, string>, name: string): number {
  const writes = [...bySeq.values()]
    .map((line) => JSON.parse(line) as AuditEntry)
    .filter((entry) => entry.action === "audit.sink.write" && entry.target === `audit/sinks/${name}`);
  const write = writes.at(-1);
  if (!write) throw new Error(`no write entry for sink ${name}`);
  return write.seq + 1;
}

const seqOf = (line: string) => (JSON.parse(line) as AuditEntry).seq;
const upTo = (lines: string[], last: number) => lines.filter((line) => seqOf(line) <= last);
const fileLines = (path: string) =>
  existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function metric(name: string, sink: string): Promise<number> {
  const text = (await t.call("GET", "/metrics")).text;
  const match = text.match(new RegExp(`^${name}\\{sink="${sink}"\\} (\\S+)$`, "m"));
  return match ? Number(match[1]) : Number.NaN;
}

/** RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG */
function parseSyslog(message: string) {
  const match = message.match(/^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-) (.*)$/s);
  if (!match) throw new Error(`not an RFC 5424 message: ${message}`);
  const [, pri, timestamp, host, appName, procId, msgId, , msg] = match as unknown as string[];
  return { pri: Number(pri), timestamp, host, appName, procId, msgId, msg: msg as string };
}

async function udpCollector() {
  const socket = createSocket("udp4");
  const messages: string[] = [];
  socket.on("message", (datagram) => messages.push(datagram.toString("utf8")));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, messages, close: () => socket.close() };
}

/** A syslog collector over TCP, reading RFC 6587 octet-counted frames: LENGTH (bytes) SP MESSAGE. */
async function tcpCollector() {
  const messages: string[] = [];
  const problems: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = buffer.subarray(0, space).toString("latin1");
        if (!/^[1-9]\d*$/.test(length)) {
          problems.push(`bad frame length ${JSON.stringify(length)}`);
          return socket.destroy();
        }
        const end = space + 1 + Number(length);
        if (buffer.length < end) return;
        messages.push(buffer.subarray(space + 1, end).toString("utf8"));
        buffer = buffer.subarray(end);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    messages,
    problems,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** A webhook receiver that can go down and come back on the same port. */
class WebhookReceiver {
  readonly requests: { authorization: string | undefined; entries: AuditEntry[] }[] = [];
  port = 0;
  private server: HttpServer | null = null;

  async start(): Promise<void> {
    const server = createHttpServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        const parsed = JSON.parse(body) as { entries: AuditEntry[] };
        this.requests.push({ authorization: request.headers.authorization, entries: parsed.entries });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
  }

  get entries(): AuditEntry[] {
    return this.requests.flatMap((request) => request.entries);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/breakglass-audit`;
  }
}

describe("file and syslog sinks", () => {
  it("get every entry committed after they were configured, byte-for-byte the export's lines", async () => {
    const path = join(tempDir("breakglass-sinks-"), "audit.jsonl");
    const udp = await udpCollector();
    const tcp = await tcpCollector();
    try {
      expect((await putSink("disk", { type: "file", options: { path } })).status).toBe(204);
      const syslogOptions = { host: "127.0.0.1", facility: "local4", app_name: "bg-test" };
      const udpSink = { type: "syslog", options: { ...syslogOptions, port: udp.port, protocol: "udp" } };
      expect((await putSink("syslog-udp", udpSink)).status).toBe(204);
      const tcpSink = { type: "syslog", options: { ...syslogOptions, port: tcp.port, protocol: "tcp" } };
      expect((await putSink("syslog-tcp", tcpSink)).status).toBe(204);

      // A little of everything: key writes, code reads (one with a non-ASCII reason), denials.
      const other = await t.call("POST", "/v1/totp/keys/sinks-other", {
        token: root,
        body: { key: encodeBase32Upper(randomBytes(20)), issuer: "GitHub", account_name: "ops" },
      });
      expect(other.status).toBe(204);
      expect((await readCode()).status).toBe(200);
      expect((await readCode(`?reason=${encodeURIComponent("INC-7 café ☕ 東京")}`)).status).toBe(200);
      expect((await t.call("GET", `/v1/totp/code/${KEY}`)).status).toBe(403);
      expect((await t.call("GET", `/v1/totp/code/${KEY}`, { token: "bgs.not-a-token" })).status).toBe(403);
      expect((await t.call("GET", "/v1/totp/code/no-such-key", { token: root })).status).toBe(400);
      await Promise.all(Array.from({ length: 8 }, () => readCode()));

      const exported = await exportedLines();
      const udpMsgs = () => udp.messages.map((message) => parseSyslog(message).msg);
      const tcpMsgs = () => tcp.messages.map((message) => parseSyslog(message).msg);
      const reached = (lines: string[]) => lines.some((line) => seqOf(line) >= exported.last);
      await waitFor("every sink to have the export's last entry", () =>
        [fileLines(path), udpMsgs(), tcpMsgs()].every(reached),
      );

      for (const [name, got] of [
        ["disk", fileLines(path)],
        ["syslog-udp", udpMsgs()],
        ["syslog-tcp", tcpMsgs()],
      ] as const) {
        const expected = exported.from(firstSeqFor(exported.bySeq, name));
        expect(expected.length).toBeGreaterThan(15);
        expect(upTo(got, exported.last), name).toEqual(expected);
      }
      expect(fileLines(path).join("\n")).toContain("café ☕ 東京");
      expect(tcp.problems).toEqual([]);

      // The header: facility local4 (20), severity info (6) or notice (5) for denied and failed.
      for (const frame of [...udp.messages, ...tcp.messages].map(parseSyslog)) {
        const entry = JSON.parse(frame.msg) as AuditEntry;
        expect(frame.pri).toBe(20 * 8 + (entry.outcome === "allowed" ? 6 : 5));
        expect(frame.timestamp).toBe(entry.time);
        expect(frame.host).toBe(hostname());
        expect(frame.appName).toBe("bg-test");
        expect(frame.procId).toBe(String(process.pid));
        expect(frame.msgId).toBe("audit");
      }
      const outcomes = tcp.messages.map(
        (message) => (JSON.parse(parseSyslog(message).msg) as AuditEntry).outcome,
      );
      expect(outcomes).toContain("denied");
      expect(outcomes).toContain("failed");
    } finally {
      for (const name of ["disk", "syslog-udp", "syslog-tcp"]) await deleteSink(name);
      udp.close();
      tcp.close();
    }
  });

  it("rotates files at max_bytes, keeps `keep` of them, and loses nothing in between", async () => {
    const dir = tempDir("breakglass-sinks-");
    const kept = join(dir, "kept.jsonl");
    const all = join(dir, "all.jsonl");
    const maxBytes = 4096;
    await putSink("rotate-keep-3", { type: "file", options: { path: kept, max_bytes: maxBytes, keep: 3 } });
    await putSink("rotate-keep-all", {
      type: "file",
      options: { path: all, max_bytes: maxBytes, keep: 100 },
    });
    try {
      for (let i = 0; i < 40; i += 1) expect((await readCode()).status).toBe(200);
      const exported = await exportedLines();
      await waitFor("both files to have the export's last entry", () =>
        [kept, all].every((path) => fileLines(path).some((line) => seqOf(line) >= exported.last)),
      );

      const rotated = (path: string, count: number) =>
        Array.from({ length: count }, (_, i) => `${path}.${count - i}`).concat(path);
      // keep: 100 never dropped a file, so the files together are every line since configuration.
      const allFiles = rotated(all, 100).filter(existsSync);
      expect(allFiles.length).toBeGreaterThan(5);
      expect(upTo(allFiles.flatMap(fileLines), exported.last)).toEqual(
        exported.from(firstSeqFor(exported.bySeq, "rotate-keep-all")),
      );
      for (const file of allFiles) expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);

      // keep: 3: the three newest rotated files and the current one, contiguous; the older ones gone.
      expect(existsSync(`${kept}.3`)).toBe(true);
      expect(existsSync(`${kept}.4`)).toBe(false);
      const keptLines = upTo(rotated(kept, 3).flatMap(fileLines), exported.last);
      expect(keptLines).toEqual(exported.from(seqOf(keptLines[0] as string)));
      expect(seqOf(keptLines[0] as string)).toBeGreaterThan(firstSeqFor(exported.bySeq, "rotate-keep-3"));
      for (const file of rotated(kept, 3)) {
        expect(statSync(file).size).toBeLessThanOrEqual(maxBytes);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      }
    } finally {
      await deleteSink("rotate-keep-3");
      await deleteSink("rotate-keep-all");
    }
  });
});

describe("webhook sink", () => {
  it("survives an outage of the receiver: reads go on, and afterwards every entry arrives, in order", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const secret = `Bearer hook-${randomBytes(12).toString("hex")}`;
    const sink = { type: "webhook", options: { url: receiver.url, batch_ms: 50, authorization: secret } };
    expect((await putSink("hook", sink)).status).toBe(204);
    try {
      expect((await readCode()).status).toBe(200);
      await waitFor("the first batch", () => receiver.entries.length > 0);

      await receiver.stop();
      // The outage lasts until the sink is plainly behind: a retry failed too, and reads queued up.
      const outageLimit = Date.now() + 30_000;
      const statuses: number[] = [];
      const behind = async () =>
        statuses.length > 20 &&
        (await metric("breakglass_audit_sink_failures_total", "hook")) >= 2 &&
        (await metric("breakglass_audit_sink_queue", "hook")) > 20;
      while (!(await behind())) {
        expect(Date.now(), "the sink to fall behind").toBeLessThan(outageLimit);
        statuses.push((await readCode()).status);
        await sleep(50);
      }
      expect(statuses.length).toBeGreaterThan(20);
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(await metric("breakglass_audit_sink_failures_total", "hook")).toBeGreaterThan(0);
      expect(await metric("breakglass_audit_sink_queue", "hook")).toBeGreaterThan(20);

      await receiver.start(); // the same port
      const exported = await exportedLines();
      await waitFor(
        "the receiver to catch up",
        () => receiver.entries.some((entry) => entry.seq >= exported.last),
        30_000,
      );

      // At least once: a retry may repeat a batch, but each entry comes first in chain order.
      const seen = new Map<number, AuditEntry>();
      for (const entry of receiver.entries) if (!seen.has(entry.seq)) seen.set(entry.seq, entry);
      const firstSeen = [...seen.keys()];
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
      const expected = exported.from(firstSeqFor(exported.bySeq, "hook"));
      expect(upTo([...seen.values()].map(auditLine), exported.last)).toEqual(expected);
      expect(new Set(receiver.requests.map((request) => request.authorization))).toEqual(new Set([secret]));
      expect(await metric("breakglass_audit_sink_delivered_total", "hook")).toBeGreaterThanOrEqual(
        expected.length,
      );
    } finally {
      await deleteSink("hook");
      await receiver.stop();
    }
  });

  it("gathers for batch_ms: reads in quick succession leave in one POST, not one each", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const sink = { type: "webhook", options: { url: receiver.url, batch_size: 100, batch_ms: 1_500 } };
    expect((await putSink("gathering", sink)).status).toBe(204);
    try {
      // Caught up first: the worker has read to the newest entry, so what comes next is gathered.
      expect((await readCode()).status).toBe(200);
      await waitFor("the first batch", () => receiver.requests.length > 0);
      const before = receiver.requests.length;
      const reads = await Promise.all(Array.from({ length: 5 }, () => readCode("?reason=gathered")));
      expect(reads.map((read) => read.status)).toEqual([200, 200, 200, 200, 200]);
      const carrying = () =>
        receiver.requests
          .slice(before)
          .filter((request) => request.entries.some((entry) => entry.reason === "gathered"));
      const gathered = () =>
        carrying().flatMap((request) => request.entries.filter((e) => e.reason === "gathered"));
      await waitFor("the five reads", () => gathered().length >= 5);
      expect(carrying()).toHaveLength(1);
    } finally {
      await deleteSink("gathering");
      await receiver.stop();
    }
  });

  it("gives a batch up after max_attempts: kept as a dead letter with its error, listed, forgotten with the sink", async () => {
    const closedPort = await freePort();
    const sink = {
      type: "webhook",
      options: { url: `http://127.0.0.1:${closedPort}/`, max_attempts: 2, batch_ms: 0 },
    };
    expect((await putSink("tiny", sink)).status).toBe(204);
    const ours = async () =>
      (
        (await t.call("GET", "/v1/audit/sinks/dead-letters", { token: root })).json.data.dead_letters as {
          destination: string;
          error: string;
          attempts: number;
        }[]
      ).filter((letter) => letter.destination === "sink:tiny");
    try {
      expect((await readCode()).status).toBe(200);
      const deadline = Date.now() + 15_000;
      while ((await ours()).length === 0) {
        if (Date.now() > deadline) throw new Error("no dead letter");
        await sleep(100);
      }
      const letters = await ours();
      expect(await metric("breakglass_audit_sink_dead_letters_total", "tiny")).toBeGreaterThanOrEqual(1);
      expect(letters[0]?.attempts).toBe(2);
      expect(letters[0]?.error).toMatch(/fetch failed|ECONNREFUSED/);
    } finally {
      await deleteSink("tiny");
    }
    expect(await ours()).toEqual([]);
  });

  it("keeps its authorization secret: sent as the header, never shown, logged, exported or stored in the clear", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const secret = `Bearer s3cr3t-${randomBytes(16).toString("hex")}`;
    const sink = {
      type: "webhook",
      description: "siem",
      options: { url: receiver.url, authorization: secret },
    };
    const put = await putSink("siem", sink);
    try {
      expect(put.status).toBe(204);
      expect((await readCode()).status).toBe(200);
      await waitFor("a delivery", () => receiver.requests.length > 0, 5_000);
      expect(receiver.requests[0]?.authorization).toBe(secret);

      const listing = await t.call("GET", "/v1/sys/audit/sinks", { token: root });
      expect(listing.status).toBe(200);
      expect(listing.json.data.siem).toEqual({
        type: "webhook",
        description: "siem",
        options: {
          url: receiver.url,
          batch_size: 100,
          batch_ms: 1000,
          timeout_ms: 5000,
          max_queue: 100000,
          max_attempts: 0,
        },
        required: false,
        source: "api",
        secrets: ["authorization"],
        updated_at: expect.any(String),
      });
      const one = await t.call("GET", "/v1/sys/audit/sinks/siem", { token: root });
      expect(one.status).toBe(200);
      const exportText = (await t.call("GET", "/v1/audit/export", { token: root })).text;
      const everything = [
        put.text,
        listing.text,
        one.text,
        exportText,
        (await t.call("GET", "/metrics")).text,
        t.log(),
        ...storedBytes(t.storage).map((file) => file.content.toString("latin1")),
      ];
      const hex = secret.split("-")[1] as string;
      for (const text of everything) expect(text).not.toContain(hex);
      expect(t.log()).toContain('"sink":"siem"'); // the log does speak of the sink
    } finally {
      await deleteSink("siem");
      await receiver.stop();
    }
  });
});

describe("required sinks", () => {
  it("a required sink that is down refuses code reads (503, no code); one that is not required does not", async () => {
    const closedPort = await freePort();
    const downTcp = { type: "syslog", options: { host: "127.0.0.1", port: closedPort, protocol: "tcp" } };
    const notADirectory = writeFile(tempDir("breakglass-sinks-"), "plain-file", "");
    const downFile = { type: "file", options: { path: join(notADirectory, "audit.jsonl") } };

    for (const [name, down] of [
      ["must-tcp", downTcp],
      ["must-file", downFile],
    ] as const) {
      expect((await putSink(name, { ...down, required: true })).status).toBe(204);
      const refused = await readCode();
      expect(refused.status, name).toBe(503);
      expect(refused.json).toEqual({
        errors: [expect.stringContaining("audit log unavailable")],
        code: "AUDIT_UNAVAILABLE",
      });
      expect(refused.text).not.toMatch(/\d{6}/);
      // Removing the broken sink stays possible: a sink change does not wait on required sinks.
      expect((await deleteSink(name)).status).toBe(204);
      expect((await readCode()).status).toBe(200);
    }

    expect((await putSink("optional-tcp", { ...downTcp, required: false })).status).toBe(204);
    expect((await putSink("optional-file", { ...downFile, required: false })).status).toBe(204);
    try {
      expect((await readCode()).status).toBe(200);
    } finally {
      await deleteSink("optional-tcp");
      await deleteSink("optional-file");
    }
  });

  it("a required file sink has the code read's entry written before the code is released", async () => {
    const path = join(tempDir("breakglass-sinks-"), "required.jsonl");
    expect((await putSink("must-disk", { type: "file", options: { path }, required: true })).status).toBe(
      204,
    );
    try {
      for (let i = 0; i < 5; i += 1) {
        const read = await readCode();
        expect(read.status).toBe(200);
        const requestId = read.headers.get("x-request-id");
        const lines = fileLines(path).map((line) => JSON.parse(line) as AuditEntry);
        expect(
          lines.some((entry) => entry.request_id === requestId && entry.action === "totp.code.read"),
        ).toBe(true);
      }
    } finally {
      await deleteSink("must-disk");
    }
  });
});

describe("configuration", () => {
  it("refuses bad sinks with 400 and every problem named, changing nothing", async () => {
    const path = join(tempDir("breakglass-sinks-"), "keep.jsonl");
    const good = { type: "file", description: "stays", options: { path } };
    expect((await putSink("keep-me", good)).status).toBe(204);
    const syslog = (options: object) => ({ type: "syslog", options: { host: "127.0.0.1", ...options } });
    const webhook = (options: object) => ({
      type: "webhook",
      options: { url: "https://siem.example/in", ...options },
    });
    const cases: [string, unknown, RegExp][] = [
      ["kafka", { type: "kafka", options: {} }, /type must be one of file, syslog, webhook/],
      ["no-type", { options: { path } }, /type must be one of/],
      ["no-path", { type: "file", options: {} }, /options\.path is required for a file sink/],
      [
        "relative",
        { type: "file", options: { path: "audit.jsonl" } },
        /options\.path must be an absolute file path/,
      ],
      [
        "tiny-max",
        { type: "file", options: { path, max_bytes: 10 } },
        /options\.max_bytes must be an integer/,
      ],
      ["keep-0", { type: "file", options: { path, keep: 0 } }, /options\.keep must be an integer from 1/],
      [
        "colour",
        { type: "file", options: { path, colour: "red" } },
        /options\.colour is not an option of a file sink/,
      ],
      ["url-on-file", { type: "file", options: { path, url: "https://x" } }, /options\.url is not an option/],
      ["no-host", { type: "syslog", options: {} }, /options\.host is required/],
      ["bad-host", syslog({ host: "not a host!" }), /options\.host must be a host name or an IP address/],
      ["port-big", syslog({ port: 70000 }), /options\.port must be an integer from 1 to 65535/],
      ["port-text", syslog({ port: "514" }), /options\.port must be an integer/],
      ["http-proto", syslog({ protocol: "http" }), /options\.protocol must be one of udp, tcp/],
      ["facility", syslog({ facility: "secret" }), /options\.facility must be one of/],
      ["app-name", syslog({ app_name: "bread glass" }), /options\.app_name must be 1-48 printable/],
      ["no-url", { type: "webhook", options: {} }, /options\.url is required/],
      [
        "ftp-url",
        webhook({ url: "ftp://siem.example/" }),
        /options\.url must be an http:\/\/ or https:\/\/ URL/,
      ],
      ["bad-url", webhook({ url: "not a url" }), /options\.url must be an http/],
      ["url-creds", webhook({ url: "https://u:p@siem.example/" }), /options\.url must not hold credentials/],
      ["auth-crlf", webhook({ authorization: "Bearer x\r\nX-Evil: 1" }), /options\.authorization must be/],
      ["batch", webhook({ batch_size: 0 }), /options\.batch_size must be an integer from 1/],
      ["extra-field", { ...good, colour: "red" }, /unknown field colour/],
      ["not-required", { ...good, required: "sometimes" }, /required must be boolean/],
      ["options-text", { type: "file", options: "path=/tmp/x" }, /options must be object/],
      ["keep-me", { type: "file", options: { path: "relative/again" } }, /options\.path must be an absolute/],
      ["keep-me", { type: "syslog", options: { host: "h", port: 0 } }, /options\.port/],
    ];
    const before = await t.call("GET", "/v1/sys/audit/sinks", { token: root });
    for (const [name, body, message] of cases) {
      const response = await putSink(name, body);
      expect(response.status, name).toBe(400);
      expect(response.json.errors, name).toEqual([expect.stringMatching(message)]);
    }
    // Several problems at once: all named.
    const many = await putSink("many", { type: "syslog", options: { port: 0, protocol: "sctp" } });
    expect(many.json.errors[0]).toMatch(/options\.host is required.*options\.port.*options\.protocol/);
    expect((await putSink("-dash-first", good)).status).toBe(400);
    const after = await t.call("GET", "/v1/sys/audit/sinks", { token: root });
    expect(after.json).toEqual(before.json);
    expect(after.json.data["keep-me"].options.path).toBe(path);
    await deleteSink("keep-me");
  });

  it("is root's alone: another token is refused, and the refusal is on the chain", async () => {
    const created = await t.call("POST", "/v1/auth/token/create", {
      token: root,
      body: { policies: ["auditor"] },
    });
    const auditor = created.json.auth.client_token as string;
    expect((await t.call("GET", "/v1/sys/audit/sinks", { token: auditor })).status).toBe(403);
    const put = await t.call("PUT", "/v1/sys/audit/sinks/sneaky", {
      token: auditor,
      body: { type: "file", options: { path: "/tmp/sneaky.jsonl" } },
    });
    expect(put.status).toBe(403);
    const exported = await exportedLines();
    const entries = [...exported.bySeq.values()].map((line) => JSON.parse(line) as AuditEntry);
    expect(entries.some((e) => e.target === "sys/audit/sinks/sneaky" && e.outcome === "denied")).toBe(true);
    expect((await t.call("GET", "/v1/sys/audit/sinks/sneaky", { token: root })).status).toBe(404);
  });

  it("config-file sinks are active from the start, listed as such, and cannot be changed through the API", async () => {
    const path = join(tempDir("breakglass-sinks-"), "from-config.jsonl");
    const storage = await newTestStorage();
    let server: RunningServer | null = await startServer({
      host: "127.0.0.1",
      port: 0,
      ...serverStorageOptions(storage),
      dev: false,
      logLevel: "silent",
      auditSinks: { "from-config": { type: "file", description: "local copy", options: { path } } },
    });
    try {
      const node = {
        call: (method: string, p: string, o?: object) => callApi(server?.url ?? "", method, p, o),
      };
      const token = (await initAndUnseal(node as TestServer)).rootToken;
      const exported = await exportedLines(node, token);
      await waitFor("the file to have the export's last entry", () =>
        fileLines(path).some((line) => seqOf(line) >= exported.last),
      );
      // From the start: the very first entry (sys.init) is there.
      expect(upTo(fileLines(path), exported.last)).toEqual(exported.from(1));

      const listed = await node.call("GET", "/v1/sys/audit/sinks", { token });
      expect(listed.json.data["from-config"]).toMatchObject({
        type: "file",
        source: "config",
        required: false,
      });
      const overwrite = await node.call("PUT", "/v1/sys/audit/sinks/from-config", {
        token,
        body: { type: "file", options: { path: "/tmp/elsewhere.jsonl" } },
      });
      expect(overwrite.status).toBe(409);
      expect(overwrite.json.errors[0]).toMatch(/defined in the server's config file/);
      expect((await node.call("DELETE", "/v1/sys/audit/sinks/from-config", { token })).status).toBe(409);
      expect((await node.call("GET", "/v1/sys/audit/sinks", { token })).json).toEqual(listed.json);
    } finally {
      await server.close();
      server = null;
    }

    await expect(
      startServer({
        host: "127.0.0.1",
        port: 0,
        ...serverStorageOptions(storage),
        dev: false,
        logLevel: "silent",
        auditSinks: { broken: { type: "file", options: { path: "relative.jsonl" } } },
      }),
    ).rejects.toThrow(/audit_sinks\.broken: options\.path must be an absolute file path/);
  });

  it("breakglass server --config refuses bad audit_sinks as a usage error: exit 2 with the reason", async () => {
    const dir = tempDir("breakglass-sinks-config-");
    const url = `http://127.0.0.1:${await freePort()}`;
    const notObject = writeFile(dir, "a.json", JSON.stringify({ audit_sinks: ["file"] }));
    await expect(spawnServer(["--config", notObject], { url, cwd: dir })).rejects.toThrow(
      /exited with 2:[\s\S]*audit_sinks must be an object/,
    );
    const badSink = writeFile(
      dir,
      "b.json",
      JSON.stringify({
        audit_sinks: { central: { type: "syslog", options: { host: "logs", protocol: "x" } } },
      }),
    );
    await expect(spawnServer(["--config", badSink, "--data", dir], { url, cwd: dir })).rejects.toThrow(
      /exited with 2:[\s\S]*audit_sinks\.central: options\.protocol must be one of udp, tcp/,
    );
  });
});

describe("while sealed", () => {
  it("a required webhook with a sealed authorization does not block unsealing, and gets what was recorded meanwhile", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    const secret = `Bearer sealed-${randomBytes(8).toString("hex")}`;
    const sink = { type: "webhook", required: true, options: { url: receiver.url, authorization: secret } };
    expect((await putSink("sealed-hook", sink)).status).toBe(204);
    try {
      expect((await t.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
      for (const key of unsealKeys.slice(0, 2))
        expect((await t.call("PUT", "/v1/sys/unseal", { body: { key } })).status).toBe(200);
      const read = await readCode();
      expect(read.status).toBe(200);
      const requestId = read.headers.get("x-request-id");
      // Required: the code read's entry was acknowledged before the code left.
      expect(receiver.entries.some((entry) => entry.request_id === requestId)).toBe(true);
      const actions = receiver.entries.map((entry) => `${entry.action} ${JSON.stringify(entry.details)}`);
      expect(actions.slice(0, 3)).toEqual([
        "sys.seal {}",
        'sys.unseal {"progress":1,"threshold":2,"custodian":"custodian 1"}',
        'sys.unseal {"unsealed":true,"custodian":"custodian 2"}',
      ]);
      expect(new Set(receiver.requests.map((request) => request.authorization))).toEqual(new Set([secret]));
    } finally {
      await deleteSink("sealed-hook");
      await receiver.stop();
    }
  });
});

describe.skipIf(!onPostgres)("several nodes", () => {
  it("every node opens a sink stored on one of them within 2 s, and sends the entries it committed itself", async () => {
    const udp = await udpCollector();
    const other = await startTestServer({ storage: t.storage });
    const reachedCollector = (requestId: string | null) =>
      udp.messages.some(
        (message) => (JSON.parse(parseSyslog(message).msg) as AuditEntry).request_id === requestId,
      );
    try {
      for (const key of unsealKeys.slice(0, 2))
        expect((await other.call("PUT", "/v1/sys/unseal", { body: { key } })).status).toBe(200);
      const central = { type: "syslog", options: { host: "127.0.0.1", port: udp.port } };
      expect((await putSink("central", central)).status).toBe(204);
      const configured = Date.now();
      for (;;) {
        const read = await other.call("GET", `/v1/totp/code/${KEY}`, { token: root });
        expect(read.status).toBe(200);
        await sleep(100);
        if (reachedCollector(read.headers.get("x-request-id"))) break;
        expect(Date.now() - configured).toBeLessThan(3_000);
      }
      const here = await readCode();
      await waitFor("this node's entry", () => reachedCollector(here.headers.get("x-request-id")), 2_000);

      // Removed on the other node: this node stops within the refresh interval too.
      expect((await other.call("DELETE", "/v1/sys/audit/sinks/central", { token: root })).status).toBe(204);
      // This node re-reads its sinks now, as its timer would within SINK_REFRESH_MS (the timer is
      // what opened the sink on the other node above).
      const closed = () => (t.log().match(/"sink":"central"[^\n]*"audit sink closed"/g) ?? []).length;
      await t.server.services.auditSinkManager.refresh();
      await waitFor("central closed on this node", () => closed() === 1);
      const after = await readCode();
      expect(reachedCollector(after.headers.get("x-request-id"))).toBe(false);
    } finally {
      await other.close();
      udp.close();
    }
  });
});
