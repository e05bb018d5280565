import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/** Vault's http/sys_init_test.go, against breakglass. */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

describe("sys/init (Vault's sys_init_test.go)", () => {
  it("TestSysInit_get", async () => {
    t = await startTestServer();
    const before = await t.call("GET", "/v1/sys/init");
    expect(before.status).toBe(200);
    expect(before.json).toEqual({ initialized: false });
    await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 3 } });
    const after = await t.call("GET", "/v1/sys/init");
    expect(after.status).toBe(200);
    expect(after.json).toEqual({ initialized: true });
  });

  it("TestSysInit_pgpKeysEntries", async () => {
    t = await startTestServer();
    const response = await t.call("PUT", "/v1/sys/init", {
      body: { secret_shares: 5, secret_threshold: 3, pgp_keys: ["pgpkey1"] },
    });
    expect(response.status).toBe(400);
  });

  it("TestSysInit_pgpKeysEntriesForRecovery (on a Shamir seal)", async () => {
    // Vault runs it on an auto-unseal seal; breakglass has only Shamir, so the same 400 has another cause.
    t = await startTestServer();
    const response = await t.call("PUT", "/v1/sys/init", {
      body: {
        secret_shares: 1,
        secret_threshold: 1,
        stored_shares: 1,
        recovery_shares: 5,
        recovery_threshold: 3,
        recovery_pgp_keys: ["pgpkey1"],
      },
    });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([
      "parameters recovery_shares,recovery_threshold,recovery_pgp_keys not applicable to seal type shamir",
    ]);
  });

  it("TestSysInit_put", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 5, secret_threshold: 3 } });
    expect(init.status).toBe(200);
    expect(init.json.root_token).toBeTypeOf("string");
    let last = null;
    for (const key of init.json.keys.slice(0, 3)) {
      expect(key).toMatch(/^[0-9a-f]+$/);
      last = await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    }
    expect(last?.json.sealed).toBe(false);
  });

  it("TestSysInit_Put_ValidateParams", async () => {
    t = await startTestServer();
    const response = await t.call("PUT", "/v1/sys/init", {
      body: { secret_shares: 5, secret_threshold: 3, recovery_shares: 5, recovery_threshold: 3 },
    });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({
      errors: ["parameters recovery_shares,recovery_threshold not applicable to seal type shamir"],
      code: "BAD_INPUT",
    });
    expect((await t.call("GET", "/v1/sys/init")).json.initialized).toBe(false);
  });

  // TestSysInit_Put_ValidateParams_AutoUnseal is not ported: breakglass has no auto-unseal seal.
});

describe("sys/init reads null and empty fields as absent, as Vault decodes them", () => {
  const bodies: [string, Record<string, unknown>][] = [
    ["root_token_pgp_key null", { root_token_pgp_key: null }],
    ["root_token_pgp_key empty", { root_token_pgp_key: "" }],
    ["pgp_keys null", { pgp_keys: null }],
    ["stored_shares null", { stored_shares: null }],
    ["stored_shares 0", { stored_shares: 0 }],
    ["recovery fields null", { recovery_shares: null, recovery_threshold: null, recovery_pgp_keys: null }],
    ["recovery fields zero and empty", { recovery_shares: 0, recovery_threshold: 0, recovery_pgp_keys: [] }],
    [
      "what the Vault CLI sends",
      {
        pgp_keys: null,
        root_token_pgp_key: "",
        stored_shares: 0,
        recovery_shares: 0,
        recovery_threshold: 0,
        recovery_pgp_keys: null,
      },
    ],
  ];
  for (const [what, extra] of bodies)
    it(`initialises with ${what}`, async () => {
      t = await startTestServer();
      const init = await t.call("PUT", "/v1/sys/init", {
        body: { secret_shares: 3, secret_threshold: 2, ...extra },
      });
      expect(init.status).toBe(200);
      expect(init.json.keys).toHaveLength(3);
      expect(init.json.root_token).toMatch(/^bgs\./);
    });

  it("still refuses a null or empty field that is required, with a clear 400", async () => {
    t = await startTestServer();
    for (const body of [
      { secret_shares: null, secret_threshold: 2 },
      { secret_shares: 3, secret_threshold: "" },
    ]) {
      const response = await t.call("PUT", "/v1/sys/init", { body });
      expect(response.status).toBe(400);
      expect(response.json.errors[0]).toMatch(/secret_(shares|threshold)/);
    }
  });
});
