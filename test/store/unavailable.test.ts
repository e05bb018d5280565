import { join } from "node:path";
import SQLite from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { BreakglassError } from "../../src/core/errors.js";
import { openSqliteStore, SQLITE_FILE_NAME } from "../../src/store/sqlite.js";
import { isStorageUnavailable } from "../../src/store/unavailable.js";
import { TEST_ENGINE } from "../support/storage.js";
import { tempDir } from "../support/tools.js";

const failure = (code: string, message = "x") => Object.assign(new Error(message), { code });

describe("what reads as storage unavailable (503)", () => {
  it("busy and locked SQLite, lost or refusing PostgreSQL connections; not constraint violations or bad SQL", () => {
    const unavailable = [
      "SQLITE_BUSY",
      "SQLITE_BUSY_SNAPSHOT",
      "SQLITE_BUSY_TIMEOUT",
      "SQLITE_LOCKED",
      "SQLITE_LOCKED_SHAREDCACHE",
      "ECONNREFUSED",
      "ECONNRESET",
      "08006", // connection failure
      "53300", // too many connections
      "55000", // database not accepting connections
      "57P01", // admin shutdown
      "57P03", // cannot connect now
      "57P05", // idle session ended
    ];
    const bugs = ["SQLITE_CONSTRAINT_UNIQUE", "SQLITE_ERROR", "SQLITE_BUSYNESS", "23505", "42P01", "080"];
    expect(unavailable.filter((code) => !isStorageUnavailable(failure(code)))).toEqual([]);
    expect(bugs.filter((code) => isStorageUnavailable(failure(code)))).toEqual([]);
    const connectionLost = [
      "Connection terminated unexpectedly",
      "Connection terminated due to connection timeout",
      "timeout exceeded when trying to connect",
      "Client has encountered a connection error and is not queryable",
      "Client was closed and is not queryable",
      "Cannot use a pool after calling end on the pool",
      "driver has already been destroyed",
    ];
    expect(connectionLost.filter((message) => !isStorageUnavailable(new Error(message)))).toEqual([]);
    // Only pg's own words, at the start: a message that quotes them is not a lost connection.
    expect(isStorageUnavailable(new Error('no such key: "Connection terminated unexpectedly"'))).toBe(false);
    expect(isStorageUnavailable("SQLITE_BUSY")).toBe(false);
  });
});

describe.skipIf(TEST_ENGINE !== "sqlite")("a nested store on a busy SQLite file", () => {
  it("a write to store.approvals while another connection holds the write lock fails as STORE_UNAVAILABLE, and succeeds once it is let go", async () => {
    const dir = tempDir();
    const store = await openSqliteStore(dir);
    const rule = {
      keyName: "aws-prod-root",
      readers: ["group:oncall"],
      approvers: [],
      approvalsRequired: 0,
      requireReason: false,
      approvalTtlSeconds: 3600,
      notify: [],
      stepUp: false,
      approverStepUp: false,
      updatedAt: new Date().toISOString(),
    };
    const other = new SQLite(join(dir, SQLITE_FILE_NAME));
    try {
      other.exec("begin exclusive");
      const refused = await store.approvals.putRule(rule).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(BreakglassError);
      expect((refused as BreakglassError).code).toBe("STORE_UNAVAILABLE");
      other.exec("rollback");
      await store.approvals.putRule(rule);
      expect(await store.approvals.findRule("aws-prod-root")).toMatchObject({ readers: ["group:oncall"] });
    } finally {
      other.close();
      await store.close();
    }
  });
});
