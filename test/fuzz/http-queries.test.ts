import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { FUZZ_TEST_TIMEOUT_MS, fuzzParameters } from "../support/fuzz.js";
import { apiWord, type JsonSchema, valueFor } from "../support/fuzz-json.js";
import {
  type FuzzRequest,
  type Operation,
  pathSegment,
  percentEncoded,
  type RouteFuzzing,
  startRouteFuzzing,
  urlOf,
} from "../support/fuzz-server.js";
import { oneFieldChanged, VALID_QUERIES } from "../support/fuzz-valid-requests.js";

/**
 * Random query strings and headers on every GET (and HEAD) route of /v1/openapi.json: declared
 * parameters with odd values, unknown and repeated ones, broken escapes; tokens that are root,
 * a reader's, garbage or missing; odd reasons, cookies and headers. Both storage passes, as
 * every HTTP fuzzer (see http-bodies.test.ts).
 */

let routes: RouteFuzzing;
let readOnlyRequests: Operation[];

beforeAll(async () => {
  routes = await startRouteFuzzing();
  readOnlyRequests = routes.operations.filter((op) => op.method === "GET" || op.method === "HEAD");
});
afterAll(async () => {
  await routes?.fuzz.close();
});

/** Health's parameters that choose the answer's status. */
const STATUS_PARAMETERS = ["activecode", "standbycode", "sealedcode", "uninitcode"];

/** A header value as a client could send it: visible ASCII, spaces and tabs, and bytes above 0x7f. */
const headerText = fc.oneof(
  apiWord.map((word) => word.replace(/[^\t\x20-\x7e]/g, "")),
  fc.string({
    unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)),
    maxLength: 80,
  }),
  fc.integer({ min: 1, max: 20_000 }).map((length) => "r".repeat(length)),
);

/** A query value: of the parameter's type, or any text, encoded or as typed (broken escapes included). */
const queryValue = (schema: JsonSchema | undefined): fc.Arbitrary<string> =>
  fc.oneof(
    (schema ? valueFor(schema) : apiWord).map((value) =>
      percentEncoded(typeof value === "string" ? value : JSON.stringify(value)),
    ),
    apiWord.map((word) => word.replace(/[#\s]/g, "")),
    fc.constantFrom("", "%", "%zz", "%E0%A4%A", "%00", "+", "a&b", "=", "%FF%FE", "1e999", "-1", "0x10"),
  );

/** A query: a valid one with a parameter changed, or random parameters (known or not, repeated or not). */
function queryFor(operation: Operation): fc.Arbitrary<string> {
  const names = [...Object.keys(operation.query), "list", "reason", "approval", "__proto__", "x"];
  const random = fc.array(
    fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), queryValue(operation.query[name]))),
    { maxLength: 4 },
  );
  const valid = VALID_QUERIES[operation.path];
  const nearlyValid = valid
    ? oneFieldChanged(
        Object.fromEntries(Object.entries(valid).map(([name, value]) => [name, percentEncoded(value)])),
        (name) => queryValue(operation.query[name]),
        names,
      ).map((query) => Object.entries(query))
    : null;
  return (nearlyValid ? fc.oneof({ weight: 2, arbitrary: nearlyValid }, random) : random).map((pairs) =>
    pairs.length === 0 ? "" : `?${pairs.map(([name, value]) => `${name}=${value}`).join("&")}`,
  );
}

const credentials = (): fc.Arbitrary<{ headers: Record<string, string>; asFuzzer: boolean }> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant({ headers: {}, asFuzzer: true }) },
    {
      weight: 2,
      arbitrary: fc.constant({ headers: { "x-vault-token": routes.readerToken }, asFuzzer: false }),
    },
    { weight: 1, arbitrary: fc.constant({ headers: {}, asFuzzer: false }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom("x-vault-token", "authorization", "cookie"), headerText)
        .map(([name, value]) => ({
          headers: {
            [name]:
              name === "authorization"
                ? `Bearer ${value}`
                : name === "cookie"
                  ? `bg_session=${value}`
                  : value,
          },
          asFuzzer: false,
        })),
    },
  );

const otherHeaders = fc.dictionary(
  fc.constantFrom(
    "x-breakglass-reason",
    "user-agent",
    "accept",
    "content-type",
    "x-forwarded-for",
    "x-request-id",
    "if-none-match",
    "range",
    "accept-encoding",
    "x-breakglass-csrf",
    "x-fuzz",
  ),
  headerText,
  { maxKeys: 4 },
);

function requestFor(operation: Operation): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      segments: fc.tuple(...operation.pathParameters.map(() => pathSegment(routes.knownNames))),
      query: queryFor(operation),
      credentials: credentials(),
      headers: otherHeaders,
    })
    .map(({ segments, query, credentials, headers }) => ({
      method: operation.method,
      url: urlOf(operation, segments, query),
      headers: { ...headers, ...credentials.headers },
      asFuzzer: credentials.asFuzzer,
    }));
}

/** The statuses a health request asked for itself (`?activecode=`…), which it may get, 5xx included. */
function askedStatuses(request: FuzzRequest): number[] {
  if (!request.url.startsWith("/v1/sys/health")) return [];
  const query = new URLSearchParams(request.url.split("?")[1] ?? "");
  return STATUS_PARAMETERS.flatMap((name) => query.getAll(name).map(Number));
}

describe("every GET route, random query strings and headers (fuzzed)", () => {
  it(
    "never answers 5xx (or a status not asked for), answers every refusal with a message and no stack trace, and a refused request changes nothing stored",
    async () => {
      // Routes that take query parameters get most of the cases.
      const takesQuery = (op: Operation) => Object.keys(op.query).length > 0;
      const cases = fc
        .oneof(
          { weight: 4, arbitrary: fc.constantFrom(...readOnlyRequests.filter(takesQuery)) },
          { weight: 1, arbitrary: fc.constantFrom(...readOnlyRequests.filter((op) => !takesQuery(op))) },
        )
        .chain((operation) => fc.tuple(fc.constant(operation), requestFor(operation)));
      const example = (path: string, url: string): [[Operation, FuzzRequest]] => [
        [
          readOnlyRequests.find((op) => op.path === path) as Operation,
          { method: "GET", url, asFuzzer: true },
        ],
      ];
      const examples = [
        // Health answered an informational status as asked, and no client ever got a final answer.
        ...STATUS_PARAMETERS.flatMap((name) =>
          ["100", "101", "199", "200", "599", "600"].map((code) =>
            example("/v1/sys/health", `/v1/sys/health?${name}=${code}`),
          ),
        ),
        // A NUL reached PostgreSQL, which cannot hold one in text: 500 (now refused at the door).
        example("/v1/audit", "/v1/audit?q=%00"),
        example("/v1/auth/userpass/users/{username}", "/v1/auth/userpass/users/a%00"),
        // A number too large for a double passed the schemas as an integer within any bounds: 500.
        example("/v1/sys/health", "/v1/sys/health?activecode=1e999"),
        example("/v1/audit", "/v1/audit?limit=1e999"),
        example("/v1/audit/export", `/v1/audit/export?limit=${"9".repeat(400)}`),
      ];
      await fc.assert(
        fc.asyncProperty(cases, ([operation, request]) =>
          routes.sendAndCheck(operation, request, askedStatuses(request)),
        ),
        // The server's state moves on from case to case, so a shrunk case would not fail alike: report the first.
        { ...fuzzParameters(examples), endOnFailure: true },
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
