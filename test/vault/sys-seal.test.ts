import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import {
  CLUSTER_FIELDS,
  coreInit,
  coreUnsealed,
  expectVaultBody,
  SEAL_STATUS_EXTRAS,
} from "./vault-shape.js";

/** Vault's http/sys_seal_test.go, against breakglass. */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

/** Vault's seal-status fields, version and build date taken as they come (Vault's test does so). */
function sealStatus(actual: Record<string, unknown>, fields: Record<string, unknown>) {
  return {
    type: "shamir",
    recovery_seal: false,
    initialized: true,
    migration: false,
    build_date: actual.build_date,
    version: actual.version,
    nonce: actual.nonce,
    ...fields,
  };
}
const UNSEAL_EXTRAS = ["storage_type", ...CLUSTER_FIELDS];

describe("seal, unseal, seal-status, step-down (Vault's sys_seal_test.go)", () => {
  it("TestSysSealStatus", async () => {
    t = await startTestServer();
    await coreInit(t);
    const response = await t.call("GET", "/v1/sys/seal-status");
    expect(response.status).toBe(200);
    expect(response.json.version).toBeTypeOf("string");
    expectVaultBody(
      response.json,
      sealStatus(response.json, { sealed: true, t: 3, n: 3, progress: 0, nonce: "" }),
      SEAL_STATUS_EXTRAS,
    );
  });

  it("TestSysSealStatus_uninit", async () => {
    t = await startTestServer();
    expect((await t.call("GET", "/v1/sys/seal-status")).status).toBe(200);
  });

  it("TestSysSeal", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    expect((await t.call("PUT", "/v1/sys/seal", { token })).status).toBe(204);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
  });

  it("TestSysSeal_unsealed", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    expect((await t.call("PUT", "/v1/sys/seal", { token })).status).toBe(204);
    expect(t.server.services.seal.isSealed).toBe(true);
  });

  it("TestSysUnseal", async () => {
    t = await startTestServer();
    const { keys } = await coreInit(t);
    for (const [i, key] of keys.entries()) {
      const response = await t.call("PUT", "/v1/sys/unseal", { body: { key } });
      expect(response.status).toBe(200);
      const last = i === keys.length - 1;
      if (!last) expect(response.json.nonce).not.toBe("");
      expectVaultBody(
        response.json,
        sealStatus(response.json, { sealed: !last, t: 3, n: 3, progress: last ? 0 : i + 1 }),
        UNSEAL_EXTRAS,
      );
    }
  });

  it("TestSysUnseal_badKey", async () => {
    t = await startTestServer();
    await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 1, secret_threshold: 1 } });
    const cases: [string, string][] = [
      ["short hex key", "AA".repeat(8)],
      ["long hex key", "AA".repeat(34)],
      ["uneven hex key byte length", "AA".repeat(33)],
      ["valid hex key but wrong cluster", randomBytes(32).toString("hex")],
      ["short b64 key", Buffer.from("m".repeat(8)).toString("base64")],
      ["long b64 key", Buffer.from("m".repeat(34)).toString("base64")],
      ["uneven b64 key byte length", Buffer.from("m".repeat(33)).toString("base64")],
      ["valid b64 key but wrong cluster", randomBytes(32).toString("base64")],
      ["empty key", ""],
      ["key with bad format", "ThisKeyIsNeitherB64NorHex"],
    ];
    for (const [description, key] of cases) {
      const response = await t.call("PUT", "/v1/sys/unseal", { body: { key } });
      expect([description, response.status]).toEqual([description, 400]);
    }
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ sealed: true, progress: 0 });
  });

  it("TestSysUnseal_Reset", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 5, secret_threshold: 3 } });
    expect(init.status).toBe(200);
    for (const [i, key] of init.json.keys.slice(0, 2).entries()) {
      const response = await t.call("PUT", "/v1/sys/unseal", { body: { key } });
      expect(response.status).toBe(200);
      expect(response.json.nonce).not.toBe("");
      expectVaultBody(
        response.json,
        sealStatus(response.json, { sealed: true, t: 3, n: 5, progress: i + 1 }),
        UNSEAL_EXTRAS,
      );
    }
    const reset = await t.call("PUT", "/v1/sys/unseal", { body: { reset: true } });
    expect(reset.status).toBe(200);
    expectVaultBody(
      reset.json,
      sealStatus(reset.json, { sealed: true, t: 3, n: 5, progress: 0 }),
      UNSEAL_EXTRAS,
    );
  });

  it("TestSysSeal_Permissions (breakglass's roles for Vault's policies)", async () => {
    // Vault asks update and sudo on sys/seal; breakglass's roles that hold sys.seal are root, admin and operator.
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const child = async (policies: string[]) =>
      (await t.call("POST", "/v1/auth/token/create", { token, body: { policies } })).json.auth.client_token;
    for (const policies of [["default"], ["auditor"], ["totp-admin"]])
      expect((await t.call("PUT", "/v1/sys/seal", { token: await child(policies) })).status).toBe(403);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(false);
    expect((await t.call("PUT", "/v1/sys/seal", { token: await child(["operator"]) })).status).toBe(204);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
  });

  it("TestSysStepDown", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    const response = await t.call("PUT", "/v1/sys/step-down", { token });
    expect(response.status).toBe(204);
    expect(response.text).toBe("");
    // Nothing to step down from: still unsealed and serving.
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(200);
  });
});

describe("sys/step-down and sys/leader, as Vault without HA", () => {
  it("step-down needs a token that may seal, and answers 503 while sealed", async () => {
    t = await startTestServer();
    const { token } = await coreUnsealed(t);
    expect((await t.call("PUT", "/v1/sys/step-down")).status).toBe(403);
    const member = (await t.call("POST", "/v1/auth/token/create", { token, body: { policies: ["default"] } }))
      .json.auth.client_token;
    expect((await t.call("POST", "/v1/sys/step-down", { token: member })).status).toBe(403);
    await t.call("PUT", "/v1/sys/seal", { token });
    expect((await t.call("PUT", "/v1/sys/step-down", { token })).status).toBe(503);
  });

  it("leader answers without a token, sealed or not, with ha_enabled false", async () => {
    t = await startTestServer();
    const expected = {
      ha_enabled: false,
      is_self: false,
      active_time: "0001-01-01T00:00:00Z",
      leader_address: "",
      leader_cluster_address: "",
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    };
    const uninitialised = await t.call("GET", "/v1/sys/leader");
    expect([uninitialised.status, uninitialised.json]).toEqual([200, expected]);
    await coreUnsealed(t);
    const unsealed = await t.call("GET", "/v1/sys/leader");
    expect([unsealed.status, unsealed.json]).toEqual([200, expected]);
  });
});
