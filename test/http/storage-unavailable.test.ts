import { randomBytes } from "node:crypto";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SQLITE_FILE_NAME } from "../../src/store/sqlite.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { type ApiResponse, initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { allowConnections, newTestStorage, TEST_ENGINE } from "../support/storage.js";

/**
 * A database that is busy or refuses connections is a fault of the moment: requests answer 503
 * "storage unavailable" (never a 500 naming an internal error), and the server works again by
 * itself once the database does.
 */

const PASSWORD = "alice's long passphrase";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A server with a key and a user, alice; returns the root token. */
async function startWithAliceAndAKey(server: TestServer): Promise<string> {
  const { rootToken } = await initAndUnseal(server);
  await server.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: rootToken,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  const created = await server.call("PUT", "/v1/auth/userpass/users/alice", {
    token: rootToken,
    body: { password: PASSWORD },
  });
  expect(created.status).toBe(204);
  return rootToken;
}

const aliceLogsIn = (server: TestServer) =>
  server.call("POST", "/v1/auth/userpass/login/alice", { body: { password: PASSWORD } });

function expectStorageUnavailable(answer: ApiResponse): void {
  expect({ status: answer.status, errors: answer.json?.errors }).toEqual({
    status: 503,
    errors: [expect.stringMatching(/^storage unavailable: /)],
  });
}

/** Retries `call` a few times while the pool reconnects; the last answer. */
async function once200(call: () => Promise<ApiResponse>): Promise<ApiResponse> {
  let answer = await call();
  for (let attempt = 0; attempt < 50 && answer.status !== 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    answer = await call();
  }
  return answer;
}

describe.skipIf(TEST_ENGINE !== "sqlite")("a SQLite file kept busy by another process", () => {
  it("a login while another connection holds the write lock past the busy timeout answers 503, and the server works again once it is let go", async () => {
    const storage = await newTestStorage("sqlite");
    if (storage.engine !== "sqlite") throw new Error("unexpected storage");
    t = await startTestServer({ storage, captureLog: "info" });
    const root = await startWithAliceAndAKey(t);

    const other = new SQLite(join(storage.dataDir, SQLITE_FILE_NAME));
    other.exec("begin exclusive");
    try {
      const started = Date.now();
      expectStorageUnavailable(await aliceLogsIn(t));
      console.log(`a login under a held write lock answered 503 after ${Date.now() - started} ms`);
    } finally {
      other.exec("rollback");
      other.close();
    }

    expect((await aliceLogsIn(t)).status).toBe(200);
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
    expect(t.log()).not.toContain("internal error");
  });
});

describe.skipIf(TEST_ENGINE !== "postgres")("a PostgreSQL database that refuses connections", () => {
  it("with ALLOW_CONNECTIONS false and its connections ended, requests answer 503 not 500; once it allows them again, the server works again", async () => {
    const storage = await newTestStorage("postgres");
    if (storage.engine !== "postgres") throw new Error("unexpected storage");
    t = await startTestServer({ storage, captureLog: "info" });
    const root = await startWithAliceAndAKey(t);
    const server = t;

    // Returns once the ended backends are gone: their goodbye is at the pool's sockets before any request below.
    await allowConnections(storage, false);
    try {
      expectStorageUnavailable(await aliceLogsIn(server));
      expectStorageUnavailable(await server.call("GET", "/v1/totp/code/aws-prod-root", { token: root }));
      expectStorageUnavailable(await server.call("GET", "/v1/auth/userpass/users/alice", { token: root }));
    } finally {
      await allowConnections(storage, true);
    }

    expect((await once200(() => aliceLogsIn(server))).status).toBe(200);
    expect((await server.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
    expect(server.log()).not.toContain("internal error");
  });
});
