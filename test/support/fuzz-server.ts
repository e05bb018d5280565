import { createHash } from "node:crypto";
import fc from "fast-check";
import { expect } from "vitest";
import { ERROR_CODES } from "../../src/core/errors.js";
import { DEFAULT_RATE_LIMITS, type RateLimits } from "../../src/http/rate-limit-policy.js";
import { DELIVERY_TABLES } from "../../src/store/kysely-backup.js";
import { anyText } from "./fuzz.js";
import { apiWord, type JsonSchema } from "./fuzz-json.js";
import { initAndUnseal, startTestServer, type TestServer } from "./server.js";
import { openRawDatabase, type RawDatabase } from "./storage.js";

/**
 * The server the HTTP fuzzers (test/fuzz/http-*) send their requests to, through Fastify's
 * `inject` (the whole pipeline but the socket, thousands of requests in seconds); the routes of
 * its OpenAPI document; and what they check of every answer and of the stored state.
 */

export interface FuzzRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** Sends the fuzzer's own root token (the current one: a fuzzed revoke-self replaces it). */
  asFuzzer?: boolean;
  /** The body as sent, byte for byte; none when undefined. */
  payload?: string;
}

export interface FuzzAnswer {
  status: number;
  body: string;
}

export interface FuzzServer {
  test: TestServer;
  /** Shares and root token of the ceremony (the root token is never given to a fuzzed request). */
  keys: string[];
  rootToken: string;
  send(request: FuzzRequest): Promise<FuzzAnswer>;
  /** A digest of each table but the audit log: what a refused request must leave as it was. */
  storedState(): Promise<Record<string, string>>;
  /** Mints the fuzzer a new root token (after a fuzzed revoke-self). */
  renewFuzzerToken(): Promise<void>;
  close(): Promise<void>;
}

const UNLIMITED = Object.fromEntries(
  Object.keys(DEFAULT_RATE_LIMITS).map((group) => [group, Number.MAX_SAFE_INTEGER]),
) as RateLimits;

/**
 * Every server of the fuzz suites starts here: uninitialised, initialised and sealed (2 of 3
 * shares) or unsealed. The one place to give startTestServer an option all fuzzers need.
 */
export async function startFuzzServer(state: "uninitialized" | "sealed" | "unsealed"): Promise<FuzzServer> {
  // Thousands of shares, logins and votes from one address: the limits would refuse most of them.
  const test = await startTestServer({ rateLimits: UNLIMITED });
  let keys: string[] = [];
  let rootToken = "";
  if (state !== "uninitialized") {
    ({ keys, rootToken } = await initAndUnseal(test));
    if (state === "sealed") await test.call("PUT", "/v1/sys/seal", { token: rootToken });
  }
  const database = await openRawDatabase(test.storage);
  const tables = await tablesOf(database, test.storage.engine);
  const everyRowQuery = await everyRowQueryOf(database, test.storage.engine, tables);
  let fuzzerToken = "";
  const fuzz: FuzzServer = {
    test,
    keys,
    rootToken,
    send: async ({ method, url, headers = {}, asFuzzer, payload }) => {
      const answer = await test.server.app.inject({
        method: method as "GET",
        url,
        headers: asFuzzer ? { ...headers, "x-vault-token": fuzzerToken } : headers,
        ...(payload === undefined ? {} : { payload }),
      });
      return { status: answer.statusCode, body: answer.body };
    },
    storedState: async () => {
      const rows = await database.rows<{ name: string; row: string }>(everyRowQuery);
      const rowsByTable: Record<string, string[]> = Object.fromEntries(tables.map((table) => [table, []]));
      for (const { name, row } of rows) rowsByTable[name]?.push(row);
      return Object.fromEntries(
        Object.entries(rowsByTable).map(([table, lines]) => [
          table,
          createHash("sha256").update(lines.sort().join("\n")).digest("hex"),
        ]),
      );
    },
    renewFuzzerToken: async () => {
      const created = await test.call("POST", "/v1/auth/token/create", {
        token: rootToken,
        body: { policies: ["root"], display_name: "fuzzer" },
      });
      if (created.status !== 200) throw new Error(`no token for the fuzzer: ${created.text}`);
      fuzzerToken = created.json.auth.client_token;
    },
    close: async () => {
      await database.close();
      await test.close();
    },
  };
  if (state === "unsealed") await fuzz.renewFuzzerToken();
  return fuzz;
}

/**
 * Every table of the schema but the audit log (every request, refused or not, is on it) and the
 * delivery state, which moves on by itself (leases renewed, positions, the outbox pruned).
 */
async function tablesOf(database: RawDatabase, engine: "sqlite" | "postgres"): Promise<string[]> {
  const query =
    engine === "sqlite"
      ? "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
      : "select table_name as name from information_schema.tables where table_schema = current_schema()";
  return (await database.rows<{ name: string }>(query))
    .map(({ name }) => name)
    .filter((name) => name !== "audit_entries" && !(DELIVERY_TABLES as readonly string[]).includes(name))
    .sort();
}

/** One query for every row of `tables` as text (thousands of digests a run: one round trip each). */
async function everyRowQueryOf(
  database: RawDatabase,
  engine: "sqlite" | "postgres",
  tables: string[],
): Promise<string> {
  const selects = await Promise.all(
    tables.map(async (table) => {
      if (engine === "postgres")
        return `select '${table}' as name, row_to_json(t)::text as row from ${table} t`;
      const columns = await database.rows<{ name: string }>(`select name from pragma_table_info('${table}')`);
      return `select '${table}' as name, json_array(${columns.map((c) => `"${c.name}"`).join(", ")}) as row from ${table}`;
    }),
  );
  return selects.join(" union all ");
}

/** Names the fuzzers put in paths and bodies, so that requests find something to work on. */
export const FIXTURES = { key: "existing", user: "alice", group: "oncall" } as const;

/** The key (with an access rule), the person and the group, made again when a fuzzed DELETE took them. */
export async function putBackFixtures(fuzz: FuzzServer): Promise<void> {
  const call = (method: string, path: string, body?: unknown) =>
    fuzz.test.call(method, path, { token: fuzz.rootToken, body });
  const missing = async (path: string) => (await call("GET", path)).status === 404;
  const made = [];
  if (await missing(`/v1/totp/keys/${FIXTURES.key}`))
    made.push(
      await call("POST", `/v1/totp/keys/${FIXTURES.key}`, {
        key: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        issuer: "Fuzz",
        account_name: "root",
      }),
    );
  if (await missing(`/v1/auth/userpass/users/${FIXTURES.user}`))
    made.push(
      await call("PUT", `/v1/auth/userpass/users/${FIXTURES.user}`, {
        password: "correct horse battery staple",
        email: "alice@acme.example",
      }),
    );
  if (await missing(`/v1/groups/${FIXTURES.group}`))
    made.push(await call("PUT", `/v1/groups/${FIXTURES.group}`, { members: [FIXTURES.user] }));
  if (await missing(`/v1/totp/access/${FIXTURES.key}`))
    made.push(await call("PUT", `/v1/totp/access/${FIXTURES.key}`, { readers: [`group:${FIXTURES.group}`] }));
  for (const answer of made) if (answer.status >= 300) throw new Error(`fixture not made: ${answer.text}`);
}

/** The fixtures, and a device (made once: its id is the server's choice); returns the device's id. */
export async function setUpFixtures(fuzz: FuzzServer): Promise<string> {
  await putBackFixtures(fuzz);
  const device = await fuzz.test.call("POST", "/v1/devices", {
    token: fuzz.rootToken,
    body: {
      kind: "hardware-totp",
      serial: "SN-1",
      label: "the token in the safe",
      protects: [FIXTURES.key],
      location: "Safe B",
      custodian: "Carol",
      review_by: "2030-01-01",
    },
  });
  if (device.status !== 200) throw new Error(`fixture not made: ${device.text}`);
  return device.json.data.id;
}

/** A route and method of the OpenAPI document, with what it takes. */
export interface Operation {
  method: string;
  path: string;
  pathParameters: string[];
  query: Record<string, JsonSchema>;
  body: JsonSchema | undefined;
  /** Vault's LIST routes: an empty list is 404 with no message. */
  listing: boolean;
}

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
}

/** Every operation of /v1/openapi.json (HEAD beside each GET, as Fastify serves it). */
export async function openApiOperations(fuzz: FuzzServer): Promise<Operation[]> {
  const document = JSON.parse((await fuzz.send({ method: "GET", url: "/v1/openapi.json" })).body) as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths))
    for (const [method, spec] of Object.entries(methods)) {
      const query = Object.fromEntries(
        (spec.parameters ?? []).filter((p) => p.in === "query").map((p) => [p.name, p.schema]),
      );
      const operation = {
        method: method.toUpperCase(),
        path,
        pathParameters: [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string),
        query,
        body: spec.requestBody?.content?.["application/json"]?.schema,
        listing: "list" in query,
      };
      operations.push(operation);
      if (operation.method === "GET" && !methods.head) operations.push({ ...operation, method: "HEAD" });
    }
  return operations;
}

/** `operation`'s path with its parameters filled in (already URL-encoded) and a query string. */
export function urlOf(operation: Operation, segments: string[], query = ""): string {
  let index = 0;
  return operation.path.replace(/\{\w+\}/g, () => segments[index++] ?? "") + query;
}

/** Percent-encodes every byte of `text`'s UTF-8 but unreserved characters (lone surrogates as U+FFFD). */
export function percentEncoded(text: string): string {
  return [...Buffer.from(text, "utf8")]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, "0").toUpperCase()}`,
    )
    .join("");
}

/** A path segment: a fixture's name, a word of the API, any text (encoded), or a malformed escape. */
export const pathSegment = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: apiWord.map(percentEncoded) },
    { weight: 2, arbitrary: anyText(40).map(percentEncoded) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "%",
        "%zz",
        "%E0%A4%A",
        "..",
        ".",
        "%2e%2e",
        "a%00b",
        "x".repeat(129),
        "x".repeat(600),
      ),
    },
  );

/**
 * After an accepted request, puts back what the fuzzers need to go on: an unsealed vault (a
 * fuzzed seal), a valid fuzzer token (a fuzzed revoke-self), the fixtures (a fuzzed DELETE), and
 * no re-encryption running in the background (a fuzzed rotate), whose writes would look like the
 * next request's.
 */
export async function restoreSession(fuzz: FuzzServer, accepted: FuzzRequest): Promise<void> {
  if (fuzz.test.server.services.seal.isSealed) {
    await fuzz.test.call("PUT", "/v1/sys/unseal", { body: { reset: true } });
    for (const key of fuzz.keys.slice(0, 2)) await fuzz.test.call("PUT", "/v1/sys/unseal", { body: { key } });
  }
  if ((await fuzz.send({ method: "GET", url: "/v1/auth/token/lookup-self", asFuzzer: true })).status !== 200)
    await fuzz.renewFuzzerToken();
  if (accepted.method === "DELETE") await putBackFixtures(fuzz);
  const keyStatus = {
    method: "GET",
    url: "/v1/sys/key-status",
    headers: { "x-vault-token": fuzz.rootToken },
  };
  for (;;) {
    const status = JSON.parse((await fuzz.send(keyStatus)).body) as {
      data?: { reencryption_running?: boolean };
    };
    if (!status.data?.reencryption_running) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The server the route fuzzers work on, its routes, the names they find things by, and their check. */
export interface RouteFuzzing {
  fuzz: FuzzServer;
  operations: Operation[];
  /** The fixtures' names and the device's id: path segments that reach something. */
  knownNames: string[];
  /** A token with the totp-reader policy only, for requests that are not root's. */
  readerToken: string;
  /**
   * Sends `request` to `operation` and checks the answer (expectCleanAnswer) and, when refused,
   * that nothing stored changed; after an accepted one it puts the session back (restoreSession).
   */
  sendAndCheck(operation: Operation, request: FuzzRequest, asked?: number[]): Promise<void>;
}

/** An unsealed server with the fixtures, for the fuzzers of every route (http-bodies, http-queries). */
export async function startRouteFuzzing(): Promise<RouteFuzzing> {
  const fuzz = await startFuzzServer("unsealed");
  const deviceId = await setUpFixtures(fuzz);
  const operations = await openApiOperations(fuzz);
  const reader = await fuzz.test.call("POST", "/v1/auth/token/create", {
    token: fuzz.rootToken,
    body: { policies: ["totp-reader"] },
  });
  let stored = await fuzz.storedState();
  return {
    fuzz,
    operations,
    knownNames: [...Object.values(FIXTURES), deviceId],
    readerToken: reader.json.auth.client_token,
    async sendAndCheck(operation, request, asked = []) {
      const answer = await fuzz.send(request);
      expectCleanAnswer(request, answer, { listing: operation.listing, asked });
      if (answer.status >= 400) {
        const after = await fuzz.storedState();
        expectNothingStored(request, answer, stored, after);
        stored = after;
      } else {
        await restoreSession(fuzz, request);
        stored = await fuzz.storedState();
      }
    },
  };
}

/** A line of a stack trace ("at fn (file.js:1:2)" or "at file.js:1:2"). */
const STACK_LINE = /\bat (?:\S+ )?\(?[^\s()]+:\d+:\d+\)?/;

const described = (request: FuzzRequest, answer: FuzzAnswer) =>
  `${request.method} ${request.url} ${JSON.stringify(request.headers ?? {})} ${request.payload?.slice(0, 300) ?? ""} → ${answer.status} ${answer.body.slice(0, 300)}`;

/**
 * INTERFACES.md "Bad input": a final status (no 1xx), never a 5xx; a 4xx is Vault's
 * `{"errors": [...]}` with a message (but Vault's LIST, whose empty list is 404 with no message)
 * and a `code` from the catalogue (core/errors.ts); no answer carries a stack trace. `asked` are statuses the request itself asked for (health's
 * `?activecode=` and the like).
 */
export function expectCleanAnswer(
  request: FuzzRequest,
  answer: FuzzAnswer,
  { asked = [], listing = false }: { asked?: number[]; listing?: boolean } = {},
): void {
  const what = described(request, answer);
  expect(answer.body, what).not.toMatch(STACK_LINE);
  expect(answer.status, what).toBeGreaterThanOrEqual(200);
  if (asked.includes(answer.status)) return;
  expect(answer.status, what).toBeLessThan(500);
  if (answer.status < 400 || request.method === "HEAD") return;
  let errors: unknown;
  let code: unknown;
  try {
    ({ errors, code } = JSON.parse(answer.body) as { errors?: unknown; code?: unknown });
  } catch {
    errors = undefined;
  }
  expect(Object.keys(ERROR_CODES), what).toContain(code);
  expect(Array.isArray(errors), what).toBe(true);
  const messages = errors as unknown[];
  expect(
    messages.every((message) => typeof message === "string" && message.length > 0),
    what,
  ).toBe(true);
  if (!(listing && answer.status === 404)) expect(messages.length, what).toBeGreaterThan(0);
}

/**
 * What "a refused request changes nothing" means here: a request answered 4xx leaves every table
 * but the audit log as it was. One exception: a refused login counts towards its user's and its
 * address's lockout (README, "Logins"), so login routes may change login_failures, and only that.
 * Accepted requests (2xx) may change what they were asked to.
 */
export function expectNothingStored(
  request: FuzzRequest,
  answer: FuzzAnswer,
  before: Record<string, string>,
  after: Record<string, string>,
): void {
  const login = /^\/v1\/(auth\/userpass\/login\/|ui\/session)/.test(request.url);
  const comparable = (state: Record<string, string>) =>
    login ? { ...state, login_failures: "counted" } : state;
  expect(comparable(after), `stored state changed: ${described(request, answer)}`).toEqual(
    comparable(before),
  );
}
