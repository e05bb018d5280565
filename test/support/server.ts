import { Writable } from "node:stream";
import type { AuditEntry } from "../../src/core/audit-chain.js";
import { type RunningServer, type ServerOptions, startServer } from "../../src/server/start.js";
import type { EventNotice } from "../../src/services/notify/events.js";
import { newTestStorage, serverStorageOptions, type TestStorage } from "./storage.js";
import { TestClock } from "./test-clock.js";

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  server: RunningServer;
  /** The time its services read: `advance` it instead of waiting for a TTL or a cache to pass. */
  clock: TestClock;
  /** Where it keeps its data: give it to another server to share (PostgreSQL) or reuse it (restart). */
  storage: TestStorage;
  /** Everything the server logged (with captureLog). */
  log(): string;
  call(method: string, path: string, options?: CallOptions): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

/** One HTTP call to a breakglass server at `baseUrl`, as a Vault client would make it. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse> {
  const { body, rawBody, token, headers = {} } = options;
  const response = await fetch(baseUrl + path, {
    method,
    headers: { ...(token ? { "X-Vault-Token": token } : {}), ...headers },
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, text, json, headers: response.headers };
}

/** A real server on a random loopback port, with fresh storage of the engine under test unless given some. */
export async function startTestServer(
  options: {
    storage?: TestStorage;
    /** Keep every log line, at debug level (or the level named). */
    captureLog?: boolean | "info" | "trace";
    auditCheckpoints?: ServerOptions["auditCheckpoints"];
    approvalRequestTtlSeconds?: ServerOptions["approvalRequestTtlSeconds"];
    /** The web UI's origin for passkeys; unset, only a page at localhost has a relying party. */
    passkeyOrigin?: ServerOptions["passkeyOrigin"];
    custody?: ServerOptions["custody"];
    uiDirectory?: string;
    /** Fewer attempts before a dead letter (12 take minutes), or an earlier "behind" warning. */
    delivery?: ServerOptions["delivery"];
    /** Requests a minute per address and route, by group: a fuzz test sending thousands raises them. */
    rateLimits?: ServerOptions["rateLimits"];
    /** HTTPS with this certificate and key (PEM files); `url` is then https://. */
    tls?: { certFile: string; keyFile: string; minVersion?: ServerOptions["tlsMinVersion"] };
  } = {},
): Promise<TestServer> {
  const storage = options.storage ?? (await newTestStorage());
  const log: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      log.push(String(chunk));
      done();
    },
  });
  const clock = new TestClock();
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    ...serverStorageOptions(storage),
    dev: false,
    logLevel:
      typeof options.captureLog === "string" ? options.captureLog : options.captureLog ? "debug" : "silent",
    auditCheckpoints: options.auditCheckpoints,
    approvalRequestTtlSeconds: options.approvalRequestTtlSeconds,
    passkeyOrigin: options.passkeyOrigin,
    custody: options.custody,
    uiDirectory: options.uiDirectory,
    delivery: options.delivery,
    rateLimits: options.rateLimits,
    tlsCert: options.tls?.certFile,
    tlsKey: options.tls?.keyFile,
    tlsMinVersion: options.tls?.minVersion,
    logStream,
    clock,
  });
  return {
    server,
    clock,
    storage,
    log: () => log.join(""),
    call: (method, path, options) => callApi(server.url, method, path, options),
    close: () => server.close(),
  };
}

/** Initialises (k of n) and unseals; returns the hex shares and the root token. */
export async function initAndUnseal(
  t: TestServer,
  shares = 3,
  threshold = 2,
): Promise<{ keys: string[]; rootToken: string }> {
  const init = await t.call("PUT", "/v1/sys/init", {
    body: { secret_shares: shares, secret_threshold: threshold },
  });
  if (init.status !== 200) throw new Error(`init failed: ${init.text}`);
  for (const key of init.json.keys.slice(0, threshold))
    await t.call("PUT", "/v1/sys/unseal", { body: { key } });
  return { keys: init.json.keys, rootToken: init.json.root_token };
}

/** A TOTP code in an answer (`"data": {"code": "123456"}`); an error's `"code"` is a name from the catalogue, never digits. */
export const RELEASED_CODE = /"code":"\d+"/;

/**
 * Records an audit entry that tells `event`, as a service does (AuditRecord.notify): the event is
 * stored with the entry, in the outbox, and delivered from there. `requestId` names the entry.
 */
export function tell(
  services: RunningServer["services"],
  { requestId = "test-event", ...event }: EventNotice & { requestId?: string },
): Promise<AuditEntry> {
  return services.audit.recordBySystem(requestId, {
    action: "sys.custodians.bus-factor",
    outcome: "allowed",
    details: { test: "an event told by a test" },
    notify: event,
  });
}
