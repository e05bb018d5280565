import { execFile } from "node:child_process";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Issue 14, finding 4: anyone could stall the server with one body — a POST to any path, even a
 * 404, of 16 MB of JSON nested 8 million deep held the event loop for seconds. Now a body is
 * refused before it is read where the request is refused anyway (an unknown route, no valid
 * token), is never larger than its route takes (src/http/body-limits.ts), and is never nested
 * deeper than 32 levels.
 */

let t: TestServer;
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
});
afterAll(async () => {
  await t.close();
});

const MB = 1_000_000;
/** The reported body: 16 MB of JSON nested 8 million deep. */
const BOMB = `${"[".repeat(8 * MB)}${"]".repeat(8 * MB)}`;
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** A request refused at the door, with what it is answered. */
interface Target {
  what: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** The answer to a body too large for it. */
  tooLarge: number;
}

const TARGETS: Target[] = [
  { what: "an unknown route", method: "POST", path: "/v1/no/such/route", tooLarge: 404 },
  { what: "PUT /v1/sys/unseal (public)", method: "PUT", path: "/v1/sys/unseal", tooLarge: 413 },
  {
    what: "POST /v1/ui/session (public)",
    method: "POST",
    path: "/v1/ui/session",
    headers: { "content-type": "application/json" },
    tooLarge: 413,
  },
  { what: "POST /v1/totp/keys/x without a token", method: "POST", path: "/v1/totp/keys/x", tooLarge: 403 },
];

/**
 * Sends a request's head announcing `contentLength` bytes and only the first `sent` of them, and
 * resolves with the answer: a server that read or parsed the body first would never answer.
 */
function answerWhileBodyIsUnsent(target: Target, contentLength: number, sent: number): Promise<number> {
  const { hostname, port } = new URL(t.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${target.what}: no answer while the body was still unsent`));
    }, 15_000);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const status = received.match(/^HTTP\/1\.1 (\d{3})/);
      if (!status) return;
      clearTimeout(deadline);
      socket.destroy();
      resolve(Number(status[1]));
    });
    socket.on("error", () => undefined); // the server may close a refused upload; the status came first
    const head = Object.entries({
      ...target.headers,
      host: hostname,
      "content-length": String(contentLength),
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(`${target.method} ${target.path} HTTP/1.1\r\n${head}\r\n`);
    socket.write(BOMB.slice(0, sent));
  });
}

/** A body sent in chunks without a Content-Length, as a client streaming it would. */
async function callChunked(target: Target, body: string): Promise<ApiResponse> {
  const chunks: string[] = [];
  for (let at = 0; at < body.length; at += 16_384) chunks.push(body.slice(at, at + 16_384));
  const response = await fetch(t.server.url + target.path, {
    method: target.method,
    headers: target.headers,
    body: new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    }),
    duplex: "half",
  } as RequestInit);
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text), headers: response.headers };
}

/** The entries a snapshot makes itself. */
const LOOKING = new Set(["audit.read", "totp.key.list"]);

/** What a refused body must not change: keys, the seal, and the audit chain but for denials (and this look). */
async function snapshot() {
  const entries = (await t.call("GET", "/v1/audit?limit=100000", { token: root })).json.data.entries as {
    outcome: string;
    action: string;
  }[];
  return {
    keys: (await t.call("GET", "/v1/totp/keys?list=true", { token: root })).status,
    sealed: (await t.call("GET", "/v1/sys/seal-status")).json.sealed,
    progress: (await t.call("GET", "/v1/sys/seal-status")).json.progress,
    entries: entries
      .filter((entry) => entry.outcome !== "denied" && !LOOKING.has(entry.action))
      .map((entry) => `${entry.action} ${entry.outcome}`),
  };
}

describe("bodies refused before they are read", () => {
  it.each(TARGETS)("$what: a 16 MB body is answered ($tooLarge) before it is even sent", async (target) => {
    expect(await answerWhileBodyIsUnsent(target, BOMB.length, 64 * 1024)).toBe(target.tooLarge);
  });

  it.each(TARGETS.filter((target) => target.tooLarge !== 413))(
    "$what: refused ($tooLarge) before reading a body within the limit, too",
    async (target) => {
      expect(await answerWhileBodyIsUnsent(target, 60 * 1024, 10)).toBe(target.tooLarge);
    },
  );

  it.each(TARGETS.filter((target) => target.tooLarge === 413))(
    "$what: a body sent in chunks without a length is cut off at 64 KiB with 413",
    async (target) => {
      const response = await callChunked(target, BOMB.slice(0, 256 * 1024));
      expect(response.status).toBe(413);
      expect(response.json).toEqual({
        errors: ["the request body is larger than 64 KiB, the most this endpoint takes"],
        code: "BODY_TOO_LARGE",
      });
    },
  );

  it("a client that sends the whole of a refused body before reading still gets the answer, and can go on using the connection", async () => {
    const { hostname, port } = new URL(t.server.url);
    const socket = connect(Number(port), hostname);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    const body = BOMB.slice(0, 1024 * 1024);
    await new Promise<void>((resolve, reject) =>
      socket.write(
        `PUT /v1/sys/unseal HTTP/1.1\r\nhost: ${hostname}\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    await expect.poll(statuses, { timeout: 10_000 }).toEqual([413]);
    socket.write(`GET /v1/sys/health HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`);
    await expect.poll(statuses, { timeout: 10_000 }).toEqual([413, 200]);
    socket.destroy();
  });

  it("but what a refused body still sends is read only up to 16 MiB: then the connection is cut", async () => {
    const { hostname, port } = new URL(t.server.url);
    const socket = connect(Number(port), hostname);
    let received = "";
    let closed = false;
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
    });
    const announced = 64 * 1024 * 1024;
    socket.write(
      `POST /v1/no/such/route HTTP/1.1\r\nhost: ${hostname}\r\ncontent-length: ${announced}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, "[");
    let written = 0;
    while (!closed && written < announced) {
      written += chunk.length;
      if (!socket.write(chunk))
        await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
    }
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(true);
    expect(received).toMatch(/^HTTP\/1\.1 404 /);
    expect(written).toBeLessThan(announced);
  });

  it("the API document gives each route that takes a body its 413", async () => {
    const paths = (await t.call("GET", "/v1/openapi.json")).json.paths;
    expect(Object.keys(paths["/v1/sys/unseal"].put.responses)).toContain("413");
    expect(Object.keys(paths["/v1/totp/keys/{name}"].post.responses)).toContain("413");
    expect(Object.keys(paths["/v1/sys/health"].get.responses)).not.toContain("413");
  });
});

describe("JSON nesting", () => {
  it.each(TARGETS.filter((target) => target.tooLarge === 413))(
    "$what: a body nested deeper than 32 levels is refused with 400, whatever it holds",
    async (target) => {
      for (const body of [nested(33), `{"key":${"[".repeat(30_000)}${"]".repeat(30_000)}}`]) {
        const response = await t.call(target.method, target.path, { rawBody: body, headers: target.headers });
        expect(response.status).toBe(400);
        expect(response.json).toEqual({
          errors: ["the request body is nested deeper than 32 levels"],
          code: "BAD_INPUT",
        });
      }
    },
  );

  it("32 levels pass the door (and the schema then says what is wrong); brackets inside strings are not nesting", async () => {
    const deep = await t.call("PUT", "/v1/sys/unseal", { rawBody: `{"key":${nested(31)}}` });
    expect(deep.status).toBe(400);
    expect(deep.json.errors[0]).toMatch(/^body\.key /);
    const inString = await t.call("PUT", "/v1/sys/unseal", { body: { key: "[{".repeat(100), x: '\\"[[' } });
    expect(inString.status).toBe(400);
    expect(inString.json.errors[0]).toMatch(/neither hex nor base64/);
  });
});

/**
 * Sends the bomb from `connections` connections at once to every target, `rounds` times, from a
 * process of its own (so the figure is the server's, not the sender's), and gives each
 * connection's statuses in order (-1: no answer).
 */
function attackFromAnotherProcess(connections: number, rounds: number): Promise<number[][]> {
  const attacker = `
    const [url, targets, connections, rounds] = JSON.parse(process.argv[1]);
    const bomb = Buffer.from("[".repeat(8e6) + "]".repeat(8e6));
    const send = async () => {
      const seen = [];
      for (let round = 0; round < rounds; round++)
        for (const { method, path, headers } of targets) {
          const response = await fetch(url + path, { method, headers, body: bomb }).catch(() => null);
          seen.push(response ? response.status : -1);
          if (response) await response.text();
        }
      return seen;
    };
    Promise.all(Array.from({ length: connections }, send)).then((all) => console.log(JSON.stringify(all)));
  `;
  const argument = JSON.stringify([t.server.url, TARGETS, connections, rounds]);
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["-e", attacker, argument], { maxBuffer: 1 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout)),
    ),
  );
}

/** GET /v1/sys/health every 20 ms until `until` settles, or until it has so many answers: the latencies, in ms. */
async function healthLatencies(until: Promise<unknown> | { answers: number }): Promise<number[]> {
  let done = false;
  if (until instanceof Promise)
    void until.finally(() => {
      done = true;
    });
  const latencies: number[] = [];
  while (!done && !("answers" in until && latencies.length >= until.answers)) {
    const started = performance.now();
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(200);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies;
}

/** About a quiet second's worth of health answers, 20 ms apart: the baseline the busy ones are told against. */
const QUIET_ANSWERS = 40;

const describeLatencies = (latencies: number[]) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `${sorted.length} answers, p50 ${p50.toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`;
};

describe("while such bodies arrive", () => {
  it("every one is refused, nothing changes, and the server keeps answering others (figure printed)", async () => {
    const before = await snapshot();
    const quiet = await healthLatencies({ answers: QUIET_ANSWERS });
    const attack = attackFromAnotherProcess(4, 2);
    const busy = await healthLatencies(attack);
    console.log(
      `GET /v1/sys/health — quiet: ${describeLatencies(quiet)}; while 4 connections sent 32 bodies of 16 MB nested 8M deep: ${describeLatencies(busy)}`,
    );
    for (const seen of await attack)
      expect(seen).toEqual([...TARGETS, ...TARGETS].map((target) => target.tooLarge));
    expect(await snapshot()).toEqual(before);
  });
});
