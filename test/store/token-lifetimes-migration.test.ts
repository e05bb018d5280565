import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store, TokenRecord } from "../../src/store/store.js";
import {
  migrateStorageUpTo,
  newTestStorage,
  openRawDatabase,
  openTestStore,
  TEST_ENGINE,
  type TestStorage,
} from "../support/storage.js";

/**
 * Migration 0012-token-lifetimes gives every stored token Vault's path and creation ttl; tokens
 * issued before it were not renewable and had no explicit max, and stay so.
 */

let storage: TestStorage;
let store: Store | undefined;
const tokens: Record<string, TokenRecord | null> = {};

beforeAll(async () => {
  storage = await newTestStorage();
  await migrateStorageUpTo(storage, "0011-login-attempts");
  const raw = await openRawDatabase(storage);
  const created = "2026-11-01T00:00:00.000Z";
  try {
    for (const [accessor, parent, expires, username, owner, policies] of [
      ["root-token", null, null, null, "token:root-token", '["root"]'],
      ["made-by-root", "root-token", "2026-11-01T08:00:00.000Z", null, "token:root-token", '["root"]'],
      ["alice-login", null, "2026-11-01T08:00:00.000Z", "alice", "user:alice", '["default"]'],
    ])
      await raw.run(
        "insert into tokens (token_hmac, accessor, display_name, policies, meta, parent_accessor, created_at, expires_at, username, owner) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [`hmac-${accessor}`, accessor, accessor, policies, "{}", parent, created, expires, username, owner],
      );
  } finally {
    await raw.close();
  }
  // Opening the store migrates to the latest version, as a server's start does.
  store = await openTestStore(storage);
  for (const accessor of ["root-token", "made-by-root", "alice-login"])
    tokens[accessor] = await store.tokens.findByAccessor(accessor);
});
afterAll(() => store?.close());

describe(`migration 0012-token-lifetimes (${TEST_ENGINE})`, () => {
  it("gives each token Vault's path and the ttl it was issued with; none becomes renewable", () => {
    const fields = (record: TokenRecord | null | undefined) =>
      record && {
        path: record.path,
        creationTtl: record.creationTtl,
        explicitMaxTtl: record.explicitMaxTtl,
        renewable: record.renewable,
      };
    expect(fields(tokens["root-token"])).toEqual({
      path: "auth/token/root",
      creationTtl: 0,
      explicitMaxTtl: 0,
      renewable: false,
    });
    expect(fields(tokens["made-by-root"])).toEqual({
      path: "auth/token/create",
      creationTtl: 8 * 3600,
      explicitMaxTtl: 0,
      renewable: false,
    });
    expect(fields(tokens["alice-login"])).toMatchObject({
      path: "auth/userpass/login/alice",
      creationTtl: 8 * 3600,
    });
  });
});
