import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/context.js";
import { REPO } from "../e2e/cli-harness.js";
import { anyText, FUZZ_TEST_TIMEOUT_MS, fuzzParameters } from "../support/fuzz.js";
import {
  FIXTURES,
  type FuzzRequest,
  type Operation,
  percentEncoded,
  type RouteFuzzing,
  startRouteFuzzing,
  urlOf,
} from "../support/fuzz-server.js";
import { VALID_BODIES, VALID_QUERIES } from "../support/fuzz-valid-requests.js";
import { tempDir, writeFile } from "../support/tools.js";

/**
 * The audit chain holds whatever text reaches it (issue 14, finding 2: a lone UTF-16 surrogate in
 * an unauthenticated login once made the chain verify as broken, because the hash covered a
 * string the store could not keep). Arbitrary Unicode — lone surrogates, NUL, U+FFFF, astral
 * characters — goes into every audited field, through every route and straight into the audit
 * layer; the chain then verifies online and offline (the CLI, from an export), on both engines.
 */

let routes: RouteFuzzing;

beforeAll(async () => {
  routes = await startRouteFuzzing();
});
afterAll(async () => {
  await routes?.fuzz.close();
});

/** Text that once broke the chain, or could: lone surrogates, NUL, non-characters, astral, separators. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "x\uD800",
    "\uDFFF",
    "\uDC00\uD800",
    "\u0000",
    "a\u0000b",
    "\uFFFF",
    "\uFFFE",
    "\u{1F600}",
    "\u{10FFFF}",
    "\u2028\u2029",
    "\u001b[31m\r\n",
    "\u007f\u0085",
  ),
  anyText(60),
);

/** Bytes a URL may carry that are not UTF-8 at all, or encode a lone surrogate or an overlong NUL. */
const hostileEscape = fc.constantFrom("%ED%A0%80", "%FF", "%C0%80", "%F4%90%80%80", "a%00b");
const hostileUrlText = fc.oneof(hostileText.map(percentEncoded), hostileEscape);

/** A header value as bytes on the wire: Latin-1 text (what HTTP carries), controls but CR/LF/NUL included. */
const hostileHeader = fc.string({
  unit: fc
    .integer({ min: 1, max: 0xff })
    .filter((c) => c !== 10 && c !== 13)
    .map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

/** A valid body of the route with one field (at the top, or inside an object or list) replaced by hostile text. */
function hostileBody(operation: Operation): fc.Arbitrary<unknown> {
  const valid = VALID_BODIES[operation.path] ?? {};
  const fields = [...new Set([...Object.keys(valid), ...Object.keys(operation.body?.properties ?? {})])];
  if (fields.length === 0) return fc.constant(valid);
  return fc
    .tuple(fc.constantFrom(...fields), hostileText, fc.integer({ min: 0, max: 2 }))
    .map(([field, text, shape]) => ({
      ...valid,
      [field]: shape === 0 ? text : shape === 1 ? [text] : { [text]: text },
    }));
}

function hostileRequest(operation: Operation): fc.Arbitrary<FuzzRequest> {
  const validQuery = VALID_QUERIES[operation.path] ?? {};
  const queryFields = [...new Set([...Object.keys(validQuery), ...Object.keys(operation.query)])];
  return fc
    .record({
      segments: fc.tuple(
        ...operation.pathParameters.map(() => fc.oneof(fc.constant(FIXTURES.key), hostileUrlText)),
      ),
      queryField: queryFields.length > 0 ? fc.constantFrom(...queryFields) : fc.constant(null),
      queryValue: hostileUrlText,
      body: hostileBody(operation),
      userAgent: hostileHeader,
      reason: fc.option(hostileHeader, { nil: undefined }),
      asFuzzer: fc.boolean(),
    })
    .map(({ segments, queryField, queryValue, body, userAgent, reason, asFuzzer }): FuzzRequest => {
      const query = Object.entries(validQuery)
        .filter(([name]) => name !== queryField)
        .map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
      if (queryField) query.push(`${queryField}=${queryValue}`);
      return {
        method: operation.method,
        url: urlOf(operation, segments, query.length > 0 ? `?${query.join("&")}` : ""),
        headers: {
          "content-type": "application/json",
          "user-agent": userAgent,
          ...(reason === undefined ? {} : { "x-breakglass-reason": reason }),
        },
        asFuzzer,
        payload: operation.body ? JSON.stringify(body) : undefined,
      };
    });
}

/** Online (the server walks its own chain) and offline (the CLI walks an export with the public key). */
async function expectChainVerifies(): Promise<void> {
  const { test, rootToken } = routes.fuzz;
  const online = await test.call("GET", "/v1/audit/verify", { token: rootToken });
  expect(online.json.data, online.text).toMatchObject({ intact: true, problem: null });
  const exported = await test.call("GET", "/v1/audit/export", { token: rootToken });
  expect(exported.status).toBe(200);
  const pem = (await test.call("GET", "/v1/audit/public-key")).json.data.public_key_pem;
  const work = tempDir("breakglass-audit-text-");
  const offline = execFileSync(
    "node",
    [
      `${REPO}/bin/breakglass`,
      "audit",
      "verify",
      "--file",
      writeFile(work, "audit.jsonl", exported.text),
      "--public-key",
      writeFile(work, "audit.pem", pem),
    ],
    { encoding: "utf8" },
  );
  expect(offline).toContain("verified: every entry intact and signed");
}

describe("arbitrary Unicode in every audited field", () => {
  it(
    "through every route (bodies, path, query, User-Agent, X-Breakglass-Reason): no 5xx, and the chain verifies online and offline",
    async () => {
      const operations = routes.operations.filter((op) => op.method !== "HEAD");
      const cases = fc
        .constantFrom(...operations)
        .chain((operation) => fc.tuple(fc.constant(operation), hostileRequest(operation)));
      // The finding itself, first: an unauthenticated login with a lone surrogate in the username.
      const login = operations.find(
        (op) => op.method === "POST" && op.path === "/v1/ui/session",
      ) as Operation;
      const example: [Operation, FuzzRequest] = [
        login,
        {
          method: "POST",
          url: "/v1/ui/session",
          headers: { "content-type": "application/json" },
          payload: '{"username":"x\\ud800","password":"x"}',
        },
      ];
      await fc.assert(
        fc.asyncProperty(cases, ([operation, request]) => routes.sendAndCheck(operation, request)),
        { ...fuzzParameters([[example]]), endOnFailure: true },
      );
      await expectChainVerifies();
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "straight into the audit layer (every field of an entry, the request's own too): the chain verifies online and offline",
    async () => {
      const { services } = routes.fuzz.test.server;
      const actor = await services.tokens.identify(routes.fuzz.rootToken);
      const entry = fc.record({
        target: hostileText,
        reason: hostileText,
        detailKey: hostileText,
        detailValue: hostileText,
        approvalId: hostileText,
        requestId: hostileText,
        remoteAddr: hostileText,
        userAgent: hostileText,
        withActor: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(entry, async (fields) => {
          const ctx: RequestContext = {
            actor: fields.withActor ? actor : null,
            requestId: fields.requestId,
            remoteAddr: fields.remoteAddr,
            userAgent: fields.userAgent,
          };
          await services.audit.record(ctx, {
            action: "totp.code.read", // any action of the catalogue: only the text fields are hostile
            target: fields.target,
            outcome: "allowed",
            reason: fields.reason,
            approvalIds: [fields.approvalId],
            details: { [fields.detailKey]: fields.detailValue },
          });
        }),
        fuzzParameters(),
      );
      await expectChainVerifies();
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
