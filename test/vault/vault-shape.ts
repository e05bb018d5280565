import { expect } from "vitest";
import { initAndUnseal, type TestServer } from "../support/server.js";

/**
 * Vault's tests compare whole JSON bodies. breakglass answers with Vault's fields and a few of its
 * own, each documented (docs/vault-compatibility.md): a body matches when Vault's expected fields
 * are equal and every other field is one of the extras named for that answer.
 */
export function expectVaultBody(
  actual: Record<string, unknown>,
  expected: Record<string, unknown>,
  extras: readonly string[] = [],
): void {
  const vaultPart = Object.fromEntries(Object.keys(expected).map((name) => [name, actual[name]]));
  expect(vaultPart).toEqual(expected);
  const unexpected = Object.keys(actual).filter((name) => !(name in expected) && !extras.includes(name));
  expect(unexpected).toEqual([]);
}

/** breakglass's own fields of seal-status (restore_pending only while a restore waits). */
export const SEAL_STATUS_EXTRAS = [
  "storage_type",
  "custody_warning",
  "problems",
  "warnings",
  "restore_pending",
] as const;
/** Vault's cluster fields, present once unsealed: the tests take them as they come. */
export const CLUSTER_FIELDS = ["cluster_name", "cluster_id"] as const;
/** breakglass's own fields of every ceremony status: who started it, whose shares came. */
export const CEREMONY_EXTRAS = ["started_by", "custodians_given", "custodians_missing"] as const;

/** Vault's TestCoreInit and TestCoreUnsealed: three shares, all three needed. */
export async function coreInit(t: TestServer): Promise<{ keys: string[] }> {
  const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 3 } });
  expect(init.status).toBe(200);
  return { keys: init.json.keys };
}

export async function coreUnsealed(t: TestServer): Promise<{ keys: string[]; token: string }> {
  const { keys, rootToken } = await initAndUnseal(t, 3, 3);
  return { keys, token: rootToken };
}
