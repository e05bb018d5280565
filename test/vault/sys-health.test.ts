import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { CLUSTER_FIELDS, coreInit, coreUnsealed, expectVaultBody } from "./vault-shape.js";

/** Vault's http/sys_health_test.go, against breakglass. */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

/** breakglass's own health fields (docs/vault-compatibility.md), beside Vault's cluster fields. */
const HEALTH_EXTRAS = ["storage_reachable", "problems", "warnings", ...CLUSTER_FIELDS];

/** Vault's expected body: a sealed node is a standby whose replication state is unknown. */
function health(actual: Record<string, unknown>, initialized: boolean, sealed: boolean) {
  const replication = sealed ? "unknown" : "disabled";
  return {
    enterprise: false,
    initialized,
    sealed,
    standby: sealed,
    performance_standby: false,
    replication_performance_mode: replication,
    replication_dr_mode: replication,
    server_time_utc: actual.server_time_utc,
    version: actual.version,
  };
}

/** Init, then unseal with every key, checking health at each stage as Vault's two tests do. */
async function eachStage(query: string, codes: [number, number, number]): Promise<void> {
  const check = async (code: number, initialized: boolean, sealed: boolean) => {
    const response = await t.call("GET", `/v1/sys/health${query}`);
    expect(response.status).toBe(code);
    expect(response.json.server_time_utc).toBeTypeOf("number");
    expectVaultBody(response.json, health(response.json, initialized, sealed), HEALTH_EXTRAS);
  };
  await check(codes[0], false, true);
  const { keys } = await coreInit(t);
  await check(codes[1], true, true);
  for (const key of keys) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
  await check(codes[2], true, false);
}

describe("sys/health (Vault's sys_health_test.go)", () => {
  it("TestSysHealth_get", async () => {
    t = await startTestServer();
    await eachStage("", [501, 503, 200]);
  });

  it("TestSysHealth_customcodes", async () => {
    t = await startTestServer();
    await eachStage("?uninitcode=581&sealedcode=523&activecode=202", [581, 523, 202]);
  });

  it("TestSysHealth_head", async () => {
    t = await startTestServer();
    await coreUnsealed(t);
    for (const [uri, code] of [
      ["", 200],
      ["?activecode=503", 503],
      ["?activecode=notacode", 400],
    ] as const) {
      const response = await t.call("HEAD", `/v1/sys/health${uri}`);
      expect([uri, response.status, response.text]).toEqual([uri, code, ""]);
    }
  });
});
