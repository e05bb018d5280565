import { describe, expect, it, vi } from "vitest";
import { NodeCondition } from "../../src/services/node/node-condition.js";
import { STORAGE_WRITE, StorageWriteWatch } from "../../src/services/node/storage-write-watch.js";
import { AUDIT_HEAD_MOVED, describeStorageFault } from "../../src/store/storage-faults.js";

/** What a failed write is called in logs, health and refusals, and how often it is logged. */

const withCode = (code: string, message = "some driver message") =>
  Object.assign(new Error(message), { code });

describe("storage faults are told by their cause", () => {
  it.each([
    ["SQLITE_FULL", "disk_full", "the disk holding the data directory is full (SQLITE_FULL)"],
    ["ENOSPC", "disk_full", "the disk is full (ENOSPC)"],
    ["53100", "disk_full", "the database server's disk is full (53100)"],
    ["SQLITE_IOERR_WRITE", "io_error", "the data directory's disk gave an I/O error (SQLITE_IOERR_WRITE)"],
    ["SQLITE_READONLY", "read_only", "the database file cannot be written (read-only) (SQLITE_READONLY)"],
    ["EROFS", "read_only", "the filesystem is read-only (EROFS)"],
    ["25006", "read_only", "the database refuses writes (read-only transaction) (25006)"],
    ["55P03", "chain_lock", "the audit chain's lock could not be taken (55P03)"],
    [AUDIT_HEAD_MOVED, "chain_lock", expect.stringContaining("another process appended to the audit chain")],
  ])("%s is %s", (code, reason, text) => {
    expect(describeStorageFault(withCode(code))).toEqual({ reason, text });
  });

  it("an error without such a code is no storage fault (it stays a 500 and an 'internal error' line)", () => {
    expect(describeStorageFault(new Error("boom"))).toBeNull();
    expect(describeStorageFault(withCode("SQLITE_CONSTRAINT_UNIQUE"))).toBeNull();
    expect(describeStorageFault(withCode("23505"))).toBeNull();
    expect(describeStorageFault("not an error")).toBeNull();
  });
});

function watchWithClock(probe: () => Promise<void> = () => new Promise(() => {})) {
  let now = 1_000_000;
  const lines: { level: "error" | "info"; fields: Record<string, unknown>; message: string }[] = [];
  const condition = new NodeCondition();
  const watch = new StorageWriteWatch({
    condition,
    log: {
      error: (fields, message) =>
        lines.push({ level: "error", fields: fields as Record<string, unknown>, message }),
      info: (fields, message) =>
        lines.push({ level: "info", fields: fields as Record<string, unknown>, message }),
    },
    probe,
    probeEveryMs: 5,
    now: () => now,
  });
  return { watch, condition, lines, advance: (ms: number) => (now += ms) };
}

describe("a store that refuses writes", () => {
  it("blocks the node with the cause, logs one line per kind of fault per interval with the count left out, and says when it is over", () => {
    const { watch, condition, lines, advance } = watchWithClock();
    try {
      for (let i = 0; i < 1000; i++) watch.failed(withCode("SQLITE_FULL"), "audit commit");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: "error",
        message: "audit commit failed: requests refused",
        fields: { reason: "disk_full", suppressed: 0, err: { code: "SQLITE_FULL" } },
      });
      expect(condition.current()).toEqual([
        {
          cause: STORAGE_WRITE,
          kind: "blocking",
          message: expect.stringContaining("the disk holding the data directory is full (SQLITE_FULL)"),
          since: expect.any(Date),
        },
      ]);

      advance(10_000);
      watch.failed(withCode("SQLITE_FULL"), "audit commit");
      watch.failed(withCode("SQLITE_IOERR"), "audit commit"); // another kind: its own line at once
      expect(lines.slice(1)).toMatchObject([
        { fields: { reason: "disk_full", suppressed: 999, failures: 1001 } },
        { fields: { reason: "io_error", suppressed: 0 } },
      ]);

      advance(3_000);
      watch.succeeded();
      expect(lines.at(-1)).toMatchObject({
        level: "info",
        message: "storage writes succeed again: requests served",
        fields: { failures: 1002, suppressed: 0, seconds: 13, by: "commit" },
      });
      expect(condition.current()).toEqual([]);
      watch.succeeded(); // nothing to say when nothing failed
      expect(lines).toHaveLength(4);
    } finally {
      watch.stop();
    }
  });

  it("a failed write that the machine did not cause blocks nothing outside the audit log, and an audit commit failing for any reason blocks", () => {
    const { watch, condition, lines } = watchWithClock();
    try {
      expect(watch.failed(withCode("SQLITE_CONSTRAINT_UNIQUE"), "store write")).toBeNull();
      expect(condition.current()).toEqual([]);
      expect(lines).toEqual([]);
      watch.failed(new Error("audit writer stopped"), "audit commit");
      expect(condition.blocked).toBe(true);
      expect(condition.current()[0]?.message).toContain("see the server log"); // no driver text on health
      expect(lines[0]?.fields).toMatchObject({ err: { message: "audit writer stopped" } });
    } finally {
      watch.stop();
    }
  });

  it("finds out by itself, with its probe, that writes work again", async () => {
    let full = true;
    const probe = vi.fn(async () => {
      if (full) throw withCode("SQLITE_FULL");
    });
    const { watch, condition, lines } = watchWithClock(probe);
    try {
      watch.failed(withCode("SQLITE_FULL"), "audit commit");
      await vi.waitFor(() => expect(probe).toHaveBeenCalled());
      expect(condition.blocked).toBe(true);
      expect(lines).toHaveLength(1); // probes that fail are not logged
      full = false;
      await vi.waitFor(() => expect(condition.blocked).toBe(false));
      expect(lines.at(-1)).toMatchObject({ fields: { by: "probe", failures: 1 } });
    } finally {
      watch.stop();
    }
  });
});

describe("node conditions", () => {
  it("keep the time a cause began across updates, list the oldest first, and block only while a blocking one holds", () => {
    let now = Date.parse("2026-12-07T10:00:00Z");
    const condition = new NodeCondition({ now: () => now });
    condition.set("clock_skew", "warning", "the clock is 3 s off");
    now += 1000;
    condition.set("storage_write", "blocking", "the disk is full");
    expect(condition.blocked).toBe(true);
    now += 1000;
    condition.set("clock_skew", "warning", "the clock is 4 s off");
    expect(condition.current()).toEqual([
      {
        cause: "clock_skew",
        kind: "warning",
        message: "the clock is 4 s off",
        since: new Date("2026-12-07T10:00:00Z"),
      },
      {
        cause: "storage_write",
        kind: "blocking",
        message: "the disk is full",
        since: new Date("2026-12-07T10:00:01Z"),
      },
    ]);
    condition.clear("storage_write");
    expect(condition.blocked).toBe(false);
    expect(condition.has("clock_skew")).toBe(true);
  });
});
