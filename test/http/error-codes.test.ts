import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode } from "../../src/core/errors.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { sourceFiles } from "../support/source-files.js";

/**
 * The wire's error codes (core/errors.ts): each refusal a program acts on carries its own code
 * beside Vault's `errors`, the API document lists the catalogue, every code is used, and neither
 * the CLI nor the UI reads the wording of a message to decide anything.
 */

let t: TestServer;
let root: string;
const tokens: Record<string, string> = {};

const codeOf = async (method: string, path: string, options: Parameters<TestServer["call"]>[2] = {}) => {
  const answer = await t.call(method, path, options);
  return { status: answer.status, code: answer.json?.code as ErrorCode | undefined };
};

beforeAll(async () => {
  t = await startTestServer();
  expect(await codeOf("GET", "/v1/totp/keys?list=true")).toEqual({ status: 503, code: "SEALED" });
  ({ rootToken: root } = await initAndUnseal(t));
  const as = { token: root };
  for (const name of ["aws-prod-root", "registrar"])
    await t.call("POST", `/v1/totp/keys/${name}`, {
      ...as,
      body: { key: encodeBase32Upper(randomBytes(20)), issuer: "AWS" },
    });
  for (const name of ["alice", "bob"]) {
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      ...as,
      body: { password: `${name}'s long password` },
    });
    tokens[name] = (
      await t.call("POST", `/v1/auth/userpass/login/${name}`, {
        body: { password: `${name}'s long password` },
      })
    ).json.auth.client_token;
  }
  await t.call("PUT", "/v1/totp/access/aws-prod-root", {
    ...as,
    body: { readers: ["user:alice"], approvers: ["user:bob"], approvals_required: 1, require_reason: true },
  });
  await t.call("PUT", "/v1/totp/access/registrar", { ...as, body: { readers: ["user:alice"] } });
});
afterAll(async () => {
  await t?.close();
});

describe("error codes on the wire", () => {
  it("name what a program must do next: a reason, an approval, a usable approval, none needed", async () => {
    const alice = { token: tokens.alice };
    expect(await codeOf("GET", "/v1/totp/code/aws-prod-root", alice)).toEqual({
      status: 400,
      code: "REASON_REQUIRED",
    });
    expect(await codeOf("GET", "/v1/totp/code/aws-prod-root?reason=INC-1", alice)).toEqual({
      status: 403,
      code: "APPROVAL_REQUIRED",
    });
    const requested = await t.call("POST", "/v1/approvals", {
      ...alice,
      body: { key: "aws-prod-root", reason: "INC-1" },
    });
    expect(requested.status).toBe(200);
    expect(
      await codeOf("GET", `/v1/totp/code/aws-prod-root?approval=${requested.json.data.id}`, alice),
    ).toEqual({ status: 403, code: "APPROVAL_NOT_USABLE" });
    expect(
      await codeOf("POST", "/v1/approvals", { ...alice, body: { key: "registrar", reason: "INC-1" } }),
    ).toEqual({ status: 400, code: "APPROVAL_NOT_NEEDED" });
    expect(await codeOf("GET", "/v1/totp/code/aws-prod-root?reason=INC-1", { token: tokens.bob })).toEqual({
      status: 403,
      code: "PERMISSION_DENIED",
    });
  });

  it("tell a failed login from a refusal, and say when to come back", async () => {
    const wrong = { body: { password: "not alice's password" } };
    expect(await codeOf("POST", "/v1/auth/userpass/login/alice", wrong)).toEqual({
      status: 400,
      code: "LOGIN_FAILED",
    });
    let last = await codeOf("POST", "/v1/auth/userpass/login/alice", wrong);
    // A user locked out after a few failures is told when to come back.
    for (let i = 0; i < 10 && last.status !== 429; i++)
      last = await codeOf("POST", "/v1/auth/userpass/login/alice", wrong);
    expect(last).toEqual({ status: 429, code: "TOO_MANY_ATTEMPTS" });
  });

  it("give Fastify's own refusals a code too: bad JSON, a body too large, no such endpoint", async () => {
    const as = { token: root };
    expect(
      await codeOf("POST", "/v1/totp/keys/x", {
        ...as,
        rawBody: "{",
        headers: { "content-type": "application/json" },
      }),
    ).toEqual({ status: 400, code: "BAD_INPUT" });
    expect(
      await codeOf("POST", "/v1/approvals", {
        ...as,
        rawBody: JSON.stringify({ key: "x", reason: "A".repeat(100_000) }),
        headers: { "content-type": "application/json" },
      }),
    ).toEqual({ status: 413, code: "BODY_TOO_LARGE" });
    expect(await codeOf("GET", "/v1/no/such/endpoint", as)).toEqual({ status: 404, code: "NOT_FOUND" });
    expect(await codeOf("PUT", "/v1/sys/init", { body: { secret_shares: 1, secret_threshold: 1 } })).toEqual({
      status: 400,
      code: "ALREADY_INITIALIZED",
    });
  });

  it("are listed, with their meanings, in the API document's error schema", async () => {
    const document = (await t.call("GET", "/v1/openapi.json")).json;
    const errorSchemas = Object.values(document.paths as Record<string, Record<string, any>>)
      .flatMap((operations) => Object.values(operations))
      .flatMap((operation) => Object.values(operation.responses ?? {}) as any[])
      .map((response) => response.content?.["application/json"]?.schema)
      .filter((schema) => schema?.properties?.errors);
    expect(errorSchemas.length).toBeGreaterThan(50);
    for (const schema of errorSchemas) {
      expect(schema.properties.code.enum.sort()).toEqual(Object.keys(ERROR_CODES).sort());
      for (const [code, meaning] of Object.entries(ERROR_CODES))
        expect(schema.properties.code.description).toContain(`${code}: ${meaning}`);
    }
  });
});

describe("the catalogue of error codes", () => {
  const sources = sourceFiles("src", /\.tsx?$/).map((path) => ({ path, text: readFileSync(path, "utf8") }));

  it("has no code that nothing sends", () => {
    // The catalogue's keys and the status map's are bare names: only a use is a quoted one.
    const unused = Object.keys(ERROR_CODES).filter(
      (code) => !sources.some(({ text }) => text.includes(`"${code}"`)),
    );
    expect(unused).toEqual([]);
  });

  it("is what the CLI and the UI branch on: no file of theirs matches the wording of an error", () => {
    const readsWording = /\.test\((?:\w+\.)?message\)|message\.(?:includes|match|startsWith|endsWith)\(/;
    const offenders = [...sourceFiles("src/cli", /\.tsx?$/), ...sourceFiles("ui/src", /\.tsx?$/)].filter(
      (path) => readsWording.test(readFileSync(path, "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});
