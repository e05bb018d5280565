import { afterEach, describe, expect, it } from "vitest";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

// The server log says what happened to the server; every request that touches a secret is on the
// audit chain already. So a request is a log line of its own only at debug level.

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function readOneCode(server: TestServer): Promise<string> {
  const { rootToken } = await initAndUnseal(server);
  const added = await server.call("POST", "/v1/totp/keys/logged", {
    token: rootToken,
    body: { key: "JBSWY3DPEHPK3PXPJBSWY3DP" },
  });
  expect(added.status).toBe(204);
  const read = await server.call("GET", "/v1/totp/code/logged?reason=log-test", { token: rootToken });
  expect(read.status).toBe(200);
  return read.headers.get("x-request-id") as string;
}

const linesAbout = (log: string, requestId: string) =>
  log
    .split("\n")
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line));

describe("the server log of requests", () => {
  it("at info (the default), a code read writes no line", async () => {
    t = await startTestServer({ captureLog: "info" });
    const requestId = await readOneCode(t);
    expect(t.log()).toContain('"level":30'); // it logs at info, just not the requests
    expect(linesAbout(t.log(), requestId)).toEqual([]);
  });

  it("at debug, one line a request: method, path (never the query: it can carry a secret), status, time and its request id", async () => {
    t = await startTestServer({ captureLog: true });
    const requestId = await readOneCode(t);
    const lines = linesAbout(t.log(), requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 20,
      msg: "request completed",
      reqId: requestId,
      method: "GET",
      url: "/v1/totp/code/logged",
      status: 200,
      ms: expect.any(Number),
    });
  });
});
