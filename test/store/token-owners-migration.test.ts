import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.js";
import {
  migrateStorageUpTo,
  newTestStorage,
  openRawDatabase,
  openTestStore,
  TEST_ENGINE,
  type TestStorage,
} from "../support/storage.js";

/**
 * Migration 0009-token-tree gives every stored token the person who answers for it. Before it,
 * the tokens table did not say who made an orphan (`no_parent`) or a token whose maker was since
 * revoked; the audit log did, and the migration reads it there. Without that, an orphan a person
 * made before the upgrade would answer to nobody: not ended by deleting them, and free to approve
 * their own requests (found by the attack review of issue 14).
 */

let storage: TestStorage;
let store: Store | undefined;
let owners: Record<string, string>;

const token = (accessor: string, fields: { parent?: string; username?: string } = {}) => [
  `hmac-${accessor}`,
  accessor,
  accessor,
  '["admin"]',
  "{}",
  fields.parent ?? null,
  "2026-11-01T00:00:00.000Z",
  null,
  fields.username ?? null,
];
/** An entry as the code before 0009 wrote it (hashes are not checked by the migration). */
const entry = (seq: number, action: string, actor: string, target: string, details: object) => [
  seq,
  "2026-11-01T00:00:00.000Z",
  actor,
  action,
  target,
  "allowed",
  null,
  `request-${seq}`,
  null,
  null,
  "[]",
  JSON.stringify(details),
  "0".repeat(64),
  String(seq).padStart(64, "0"),
];

beforeAll(async () => {
  storage = await newTestStorage();
  await migrateStorageUpTo(storage, "0008-devices");
  const raw = await openRawDatabase(storage);
  try {
    const tokens = [
      token("root-token"), // init's root token
      token("minted-by-root", { parent: "root-token" }),
      token("alice-login", { username: "alice" }),
      token("session-of-alice", { parent: "alice-login" }),
      token("orphan-by-erin"), // erin's login that made it is gone (expired and revoked)
      token("orphan-by-session"), // made through a browser session of alice's
      token("orphan-of-no-record"),
    ];
    for (const row of tokens)
      await raw.run(
        "insert into tokens (token_hmac, accessor, display_name, policies, meta, parent_accessor, created_at, expires_at, username) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row,
      );
    const entries = [
      entry(1, "auth.userpass.login", "anonymous", "user:erin", { token: "token:erin-login" }),
      entry(2, "token.create", "token:erin-login", "token:orphan-by-erin", { policies: "admin" }),
      entry(3, "ui.session.open", "token:alice-login", "token:alice-session", { parent: "alice-login" }),
      entry(4, "token.create", "token:alice-session", "token:orphan-by-session", { policies: "admin" }),
      entry(5, "auth.userpass.login", "anonymous", "user:alice", { token: "token:alice-login" }),
    ];
    for (const row of entries)
      await raw.run(
        "insert into audit_entries (seq, time, actor, action, target, outcome, reason, request_id, remote_addr, user_agent, approval_ids, details, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        row,
      );
  } finally {
    await raw.close();
  }
  // Opening the store migrates to the latest version, as a server's start does.
  store = await openTestStore(storage);
  const after = await openRawDatabase(storage);
  try {
    const rows = await after.rows<{ accessor: string; owner: string }>("select accessor, owner from tokens");
    owners = Object.fromEntries(rows.map((row) => [row.accessor, row.owner]));
  } finally {
    await after.close();
  }
});
afterAll(() => store?.close());

describe(`migration 0009-token-tree (${TEST_ENGINE})`, () => {
  it("gives a person's tokens the person, and a root token's line that root token", () => {
    expect(owners).toMatchObject({
      "root-token": "token:root-token",
      "minted-by-root": "token:root-token",
      "alice-login": "user:alice",
      "session-of-alice": "user:alice",
    });
  });

  it("finds the maker of an orphan in the audit log, through a revoked login or a browser session", () => {
    expect(owners["orphan-by-erin"]).toBe("user:erin");
    expect(owners["orphan-by-session"]).toBe("user:alice");
  });

  it("leaves a token no record speaks of as a line of its own", () => {
    expect(owners["orphan-of-no-record"]).toBe("token:orphan-of-no-record");
  });
});
