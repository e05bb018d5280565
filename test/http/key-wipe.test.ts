import { afterEach, describe, expect, it } from "vitest";
import type { RequestContext } from "../../src/services/context.js";
import type { ShareCollector } from "../../src/services/custody/share-collector.js";
import type { Services } from "../../src/services/index.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Sealing (and closing) overwrites every buffer of key material the server held while unsealed;
 * nothing is left for the garbage collector. The test holds references to the buffers themselves
 * (reaching into private fields where that is the only way to hold them), seals, and looks.
 */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

const ctx: RequestContext = { actor: null, requestId: "key-wipe-test", remoteAddr: null, userAgent: null };
const allZero = (buffer: Uint8Array) => buffer.length > 0 && buffer.every((byte) => byte === 0);
const field = <T>(owner: object, name: string) => Reflect.get(owner, name) as T;

/** Every key buffer of the seal: the keyring's keys and the root key. */
function sealKeys(services: Services): Buffer[] {
  const keyring = services.seal.box.keyringOrThrow();
  return [
    keyring.tokenHmacKey,
    keyring.auditSigningSeed,
    ...[...keyring.dataKeys.values()].map((dataKey) => dataKey.key),
    field<Buffer>(services.seal.box, "rootKey"),
  ];
}

const sharesGivenTo = (ceremony: object) => [
  ...field<{ shares: ShareCollector }>(ceremony, "attempt").shares.given(),
];

describe("sealing", () => {
  it("overwrites the root key, every data key version, the token HMAC key, the audit signing seed, ceremonies' shares and pads, and backups in flight", async () => {
    t = await startTestServer();
    const { keys, rootToken } = await initAndUnseal(t, 3, 2);
    const { services } = t.server;
    expect((await t.call("PUT", "/v1/sys/rotate", { token: rootToken })).status).toBeLessThan(300);
    const held = sealKeys(services);
    expect(held).toHaveLength(5); // two data key versions
    expect(held.some(allZero)).toBe(false);

    const rekey = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 2, secret_threshold: 2 },
    });
    await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce: rekey.json.nonce } });
    const root = await t.call("PUT", "/v1/sys/generate-root/attempt", { body: {} });
    await t.call("PUT", "/v1/sys/generate-root/update", { body: { key: keys[1], nonce: root.json.nonce } });
    const shares = [...sharesGivenTo(services.rekey), ...sharesGivenTo(services.generateRoot)];
    expect(shares).toHaveLength(2);
    const pad = field<{ params: { otp: Buffer } }>(services.generateRoot, "attempt").params.otp;
    expect(pad.toString("latin1")).toBe(root.json.otp);

    const backup = await services.backup.backUp(ctx);
    const [writer] = field<Set<object>>(services.backup, "writing");
    const fileKey = field<Buffer>(writer as object, "fileKey");
    expect(allZero(fileKey)).toBe(false);

    expect((await t.call("PUT", "/v1/sys/seal", { token: rootToken })).status).toBe(204);
    for (const [what, buffers] of Object.entries({ held, shares, pad: [pad], fileKey: [fileKey] }))
      expect(buffers.every(allZero), what).toBe(true);
    // The backup stops rather than go on under a zeroed key.
    await expect(async () => {
      for await (const _chunk of backup.stream);
    }).rejects.toThrow();
  });

  it("still overwrites the keys when a wipe hook fails, or when the seal cannot be put on the audit log", async () => {
    t = await startTestServer();
    const { keys } = await initAndUnseal(t);
    const { services } = t.server;
    let held = sealKeys(services);
    let failing = true;
    services.seal.box.onWipe(() => {
      if (failing) throw new Error("a hook that fails");
    });
    expect(() => services.seal.wipe()).toThrow("a hook that fails");
    expect(held.every(allZero)).toBe(true);
    expect(services.seal.isSealed).toBe(true);

    failing = false;
    for (const key of keys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    held = sealKeys(services);
    services.audit.record = async () => {
      throw new Error("the audit store is gone");
    };
    await expect(services.seal.seal(ctx)).rejects.toThrow("the audit store is gone");
    expect(held.every(allZero)).toBe(true);
    expect(services.seal.isSealed).toBe(true);
  });
});

describe("closing the server", () => {
  it("overwrites the keys, and shares given towards an unseal that never completed", async () => {
    t = await startTestServer();
    const { keys, rootToken } = await initAndUnseal(t, 3, 2);
    const held = sealKeys(t.server.services);
    expect((await t.call("PUT", "/v1/sys/seal", { token: rootToken })).status).toBe(204);
    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[2] } });
    const pending = [...field<ShareCollector>(t.server.services.seal, "unsealShares").given()];
    expect(pending).toHaveLength(1);
    await t.close();
    expect([...held, ...pending].every(allZero)).toBe(true);
  });
});

describe("a seal that lands while keys are being changed", () => {
  it("is not undone by a rotation, a reload of the keyring or a rekey that finish after it", async () => {
    t = await startTestServer();
    const { keys } = await initAndUnseal(t, 1, 1);
    const { seal, store } = t.server.services;

    const rotating = seal.rotateDataKey(ctx);
    seal.wipe();
    await expect(rotating).rejects.toThrow("Vault is sealed");
    expect(seal.isSealed).toBe(true);

    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
    const reloading = seal.box.reloadKeyring(); // reads the stored keyring: the seal lands meanwhile
    seal.wipe();
    expect(await reloading).toBe(false);
    expect(seal.isSealed).toBe(true);

    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
    const storeRekey = store.rekeySeal.bind(store);
    store.rekeySeal = async (...args) => {
      seal.wipe(); // sealed just as the new shares are being stored
      return storeRekey(...args);
    };
    const rekeyed = await seal.rekey({ secretShares: 1, secretThreshold: 1 }, ctx, () => ({
      type: "custody",
      actor: "test",
      text: "rekeyed",
    }));
    expect(seal.isSealed).toBe(true);
    expect(field<Buffer | null>(seal.box, "rootKey")).toBeNull();
    // The new share is handed out all the same, for the stored keyring is now sealed under it.
    const unsealed = await t.call("PUT", "/v1/sys/unseal", {
      body: { key: Buffer.from(rekeyed.shares[0] as Uint8Array).toString("hex") },
    });
    expect(unsealed.json.sealed).toBe(false);
  });
});
