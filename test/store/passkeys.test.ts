import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PasskeyRecord, Store } from "../../src/store/store.js";
import { newTestStorage, openTestStore, TEST_ENGINE } from "../support/storage.js";

/** The passkey store of each engine: challenges taken once under concurrency (PostgreSQL: a pool, as several nodes). */
let store: Store;
beforeAll(async () => {
  store = await openTestStore(await newTestStorage());
});
afterAll(() => store?.close());

const passkey = (id: string, username: string): PasskeyRecord => ({
  id,
  username,
  name: "laptop",
  publicKey: "pQECAyYgASFYIA",
  counter: 0,
  transports: ["internal", "hybrid"],
  deviceType: "multiDevice",
  backedUp: true,
  createdAt: "2030-01-01T00:00:00.000Z",
  lastUsedAt: null,
});

describe(`passkeys in the store (${TEST_ENGINE})`, () => {
  it("a challenge taken by 50 requests at once goes to exactly one of them", async () => {
    await store.passkeys.saveChallenge(
      {
        challenge: "c2luZ2xlLXVzZS1jaGFsbGVuZ2U",
        username: "alice",
        purpose: "step-up",
        binding: "totp.code.read aws-prod-root",
        createdAt: "2030-01-01T00:00:00.000Z",
        expiresAt: "2030-01-01T00:01:00.000Z",
      },
      "2030-01-01T00:00:00.000Z",
    );
    const taken = await Promise.all(
      Array.from({ length: 50 }, () => store.passkeys.takeChallenge("c2luZ2xlLXVzZS1jaGFsbGVuZ2U")),
    );
    const winners = taken.filter((t) => t !== null);
    expect(winners).toEqual([
      expect.objectContaining({ username: "alice", binding: "totp.code.read aws-prod-root" }),
    ]);
  });

  it("forgets expired challenges when the next one is handed out", async () => {
    const challenge = (name: string, expiresAt: string) => ({
      challenge: name,
      username: "bob",
      purpose: "login" as const,
      binding: "",
      createdAt: "2030-01-01T00:00:00.000Z",
      expiresAt,
    });
    await store.passkeys.saveChallenge(
      challenge("b2xk", "2030-01-01T00:02:00.000Z"),
      "2030-01-01T00:00:00.000Z",
    );
    await store.passkeys.saveChallenge(
      challenge("bmV3", "2030-01-01T00:05:00.000Z"),
      "2030-01-01T00:03:00.000Z",
    );
    expect(await store.passkeys.takeChallenge("b2xk")).toBeNull();
    expect(await store.passkeys.takeChallenge("bmV3")).toMatchObject({ purpose: "login" });
  });

  it("keeps, lists, renames and removes passkeys per person; an id is registered once; a reset removes all", async () => {
    expect(await store.passkeys.insert(passkey("a1", "carol"))).toBe(true);
    expect(await store.passkeys.insert(passkey("a2", "carol"))).toBe(true);
    expect(await store.passkeys.insert(passkey("a1", "dave"))).toBe(false);
    expect(await store.passkeys.find("a1")).toEqual(passkey("a1", "carol"));
    expect(await store.passkeys.rename("dave", "a1", "mine")).toBe(false);
    expect(await store.passkeys.rename("carol", "a1", "phone")).toBe(true);
    await store.passkeys.recordUse("a1", 7, "2030-01-02T00:00:00.000Z");
    expect(await store.passkeys.find("a1")).toMatchObject({
      name: "phone",
      counter: 7,
      lastUsedAt: "2030-01-02T00:00:00.000Z",
    });
    expect(await store.passkeys.remove("dave", "a2")).toBe(false);
    expect((await store.passkeys.list("carol")).map((p) => p.id)).toEqual(["a1", "a2"]);
    expect(await store.passkeys.removeAll("carol")).toEqual(["a1", "a2"]);
    expect(await store.passkeys.list("carol")).toEqual([]);
  });
});
