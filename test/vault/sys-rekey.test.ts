import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { CEREMONY_EXTRAS, coreUnsealed, expectVaultBody } from "./vault-shape.js";

/**
 * Vault's http/sys_rekey_test.go, against breakglass, where it speaks their shape: a rekey of the
 * unseal keys needs no token (Vault's default); Vault's setting that requires one is not ported.
 */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

/** breakglass's own fields of a rekey's status: the new shares' custodians, and `complete`. */
const STATUS_EXTRAS = [...CEREMONY_EXTRAS, "custodians", "complete"];

function rekeyStatus(fields: Record<string, unknown>) {
  return {
    started: true,
    t: 3,
    n: 5,
    progress: 0,
    required: 3,
    pgp_fingerprints: null,
    backup: false,
    verification_required: false,
    ...fields,
  };
}

const notStarted = rekeyStatus({ started: false, t: 0, n: 0, nonce: "" });

describe("rekey (Vault's sys_rekey_test.go)", () => {
  it("TestSysRekey_Init_pgpKeysEntriesForRekey", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const response = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 5, secret_threshold: 3, pgp_keys: ["pgpkey1"] },
    });
    expect(response.status).toBe(400);
  });

  it("TestSysRekey_Init_Status (default-unauthenticated, default-authenticated)", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    for (const asWho of [undefined, token]) {
      const response = await t.call("GET", "/v1/sys/rekey/init", { token: asWho });
      expect(response.status).toBe(200);
      expectVaultBody(response.json, notStarted, STATUS_EXTRAS);
    }
  });

  it("TestSysRekey_Init_Setup", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 5, secret_threshold: 3 },
    });
    expect(started.status).toBe(200);
    expect(started.json.nonce).not.toBe("");
    expectVaultBody(started.json, rekeyStatus({ nonce: started.json.nonce }), STATUS_EXTRAS);
    const status = await t.call("GET", "/v1/sys/rekey/init");
    expectVaultBody(status.json, rekeyStatus({ nonce: started.json.nonce }), STATUS_EXTRAS);
  });

  it("TestSysRekey_Init_Cancel", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 5, secret_threshold: 3 },
    });
    const cancel = await t.call("DELETE", "/v1/sys/rekey/init", { body: { nonce: started.json.nonce } });
    expect(cancel.status).toBe(204);
    const status = await t.call("GET", "/v1/sys/rekey/init");
    expect(status.status).toBe(200);
    expectVaultBody(status.json, notStarted, STATUS_EXTRAS);
  });

  it("TestSysRekey_badKey", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    expect((await t.call("PUT", "/v1/sys/rekey/update", { token, body: { key: "0123" } })).status).toBe(400);
  });

  for (const [name, withToken] of [
    ["unauthenticated", false],
    ["authenticated", true],
  ] as const)
    it(`TestSysRekey_Update (${name})`, async () => {
      t = await startTestServer();
      const { keys, token: root } = await coreUnsealed(t);
      const token = withToken ? root : undefined;
      const started = await t.call("PUT", "/v1/sys/rekey/init", {
        token,
        body: { secret_shares: 5, secret_threshold: 3 },
      });
      expect(started.status).toBe(200);
      const nonce: string = started.json.nonce;
      const bad = await t.call("PUT", "/v1/sys/rekey/update", {
        token,
        body: { nonce, key: Buffer.from("badkey").toString("hex") },
      });
      expect(bad.status).toBe(400); // Vault's wording differs: see the deviation below
      let last: Record<string, unknown> = {};
      for (const [i, key] of keys.entries()) {
        const response = await t.call("PUT", "/v1/sys/rekey/update", { token, body: { nonce, key } });
        expect(response.status).toBe(200);
        last = response.json;
        if (i + 1 < keys.length)
          expectVaultBody(last, rekeyStatus({ nonce, progress: i + 1 }), STATUS_EXTRAS);
      }
      expectVaultBody(
        last,
        {
          complete: true,
          nonce,
          backup: false,
          pgp_fingerprints: null,
          verification_required: false,
          keys: last.keys,
          keys_base64: last.keys_base64,
        },
        ["custodians"],
      );
      expect(last.keys).toHaveLength(5);
      expect(last.keys_base64).toHaveLength(5);
    });

  it("TestSysRekey_ReInitUpdate", async () => {
    t = await startTestServer();
    const { keys, token } = await coreUnsealed(t);
    const first = await t.call("PUT", "/v1/sys/rekey/init", {
      token,
      body: { secret_shares: 5, secret_threshold: 3 },
    });
    expect(first.status).toBe(200);
    const cancel = await t.call("DELETE", "/v1/sys/rekey/init", { token, body: { nonce: first.json.nonce } });
    expect(cancel.status).toBe(204);
    const again = await t.call("PUT", "/v1/sys/rekey/init", {
      token,
      body: { secret_shares: 5, secret_threshold: 3 },
    });
    expect(again.status).toBe(200);
    expect((await t.call("PUT", "/v1/sys/rekey/update", { token, body: { key: keys[0] } })).status).toBe(400);
  });
});

describe("rekey where breakglass differs", () => {
  it("deviation: a share of the wrong length is refused with breakglass's message (Vault: key is shorter than minimum 16 bytes)", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const { nonce } = (
      await t.call("PUT", "/v1/sys/rekey/init", { body: { secret_shares: 5, secret_threshold: 3 } })
    ).json;
    const bad = await t.call("PUT", "/v1/sys/rekey/update", {
      body: { nonce, key: Buffer.from("badkey").toString("hex") },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toEqual([
      "key is not a share of this vault: a share is 33 bytes (66 hex characters)",
    ]);
  });

  it("reads null and empty fields as absent, as Vault decodes them", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    const started = await t.call("PUT", "/v1/sys/rekey/init", {
      body: {
        secret_shares: 5,
        secret_threshold: 3,
        pgp_keys: null,
        backup: null,
        require_verification: null,
      },
    });
    expect(started.status).toBe(200);
    expect(started.json.pgp_fingerprints).toBeNull();
  });
});
