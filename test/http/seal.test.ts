import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { gpg, makeGpgKey } from "../support/tools.js";

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

describe("before init", () => {
  it("reports uninitialised and sealed, with Vault's status codes, and refuses everything else with 503", async () => {
    t = await startTestServer();
    expect((await t.call("GET", "/v1/sys/init")).json).toEqual({ initialized: false });
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({
      type: "shamir",
      initialized: false,
      sealed: true,
      t: 0,
      n: 0,
    });
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(501);
    expect((await t.call("GET", "/v1/sys/health?uninitcode=200")).status).toBe(200);
    for (const [method, path] of [
      ["GET", "/v1/totp/keys?list=true"],
      ["GET", "/v1/totp/code/x"],
      ["POST", "/v1/auth/token/create"],
      ["GET", "/v1/audit"],
    ] as const) {
      const response = await t.call(method, path, { token: "bgs.whatever" });
      expect(response.status).toBe(503);
      expect(response.json).toEqual({ errors: ["Vault is sealed"], code: "SEALED" });
    }
  });
});

describe("init and unseal", () => {
  it("return shares in hex and base64 and a root token, once", async () => {
    t = await startTestServer();
    const init = await t.call("POST", "/v1/sys/init", { body: { secret_shares: 5, secret_threshold: 3 } });
    expect(init.status).toBe(200);
    expect(init.json.keys).toHaveLength(5);
    expect(init.json.keys.every((k: string) => /^[0-9a-f]{66}$/.test(k))).toBe(true);
    expect(init.json.keys_base64.map((k: string) => Buffer.from(k, "base64").toString("hex"))).toEqual(
      init.json.keys,
    );
    expect(init.json.root_token).toMatch(/^bgs\./);
    const again = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 1, secret_threshold: 1 } });
    expect(again.status).toBe(400);
    expect(again.json.errors[0]).toMatch(/already initialized/);
  });

  it("read the body as JSON whatever its Content-Type, as Vault does for curl --data", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", {
      rawBody: '{"secret_shares":1,"secret_threshold":1}',
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(init.status).toBe(200);
    expect(init.json.keys).toHaveLength(1);
  });

  it("count progress like Vault: a repeated share counts once, hex or base64 alike", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 3 } });
    const first = await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    expect(first.json).toMatchObject({ sealed: true, t: 3, n: 3, progress: 1 });
    expect(first.json.nonce).not.toBe("");
    const repeated = await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys_base64[0] } });
    expect(repeated.json).toMatchObject({ sealed: true, progress: 1, nonce: first.json.nonce });
    expect(
      (await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys_base64[1] } })).json.progress,
    ).toBe(2);
    const done = await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[2] } });
    expect(done.json).toMatchObject({ sealed: false, progress: 0, cluster_name: "breakglass" });
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(200);
  });

  it("never unseal with a wrong share: the attempt fails cleanly, progress resets, the right shares still work", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 2 } });
    await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    const forged = await t.call("PUT", "/v1/sys/unseal", { body: { key: randomBytes(33).toString("hex") } });
    expect(forged.status).toBe(400);
    expect(forged.json.errors[0]).toMatch(/unseal failed.*progress was reset/);
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ sealed: true, progress: 0 });
    // A share of another vault, with the same x coordinate as a real one, is caught too.
    const other = await startTestServer();
    const otherInit = await other.call("PUT", "/v1/sys/init", {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    await other.close();
    await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    expect((await t.call("PUT", "/v1/sys/unseal", { body: { key: otherInit.json.keys[1] } })).status).toBe(
      400,
    );
    await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[2] } });
    expect((await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[1] } })).json.sealed).toBe(
      false,
    );
  });

  it("refuse a share of the wrong length without counting it, and reset on request", async () => {
    t = await startTestServer();
    const init = await t.call("PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 2 } });
    await t.call("PUT", "/v1/sys/unseal", { body: { key: init.json.keys[0] } });
    const short = await t.call("PUT", "/v1/sys/unseal", { body: { key: "abcd" } });
    expect(short.status).toBe(400);
    expect(short.json.errors[0]).toMatch(/33 bytes/);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.progress).toBe(1);
    expect((await t.call("PUT", "/v1/sys/unseal", { body: { reset: true } })).json.progress).toBe(0);
  });
});

describe("seal", () => {
  it("needs the root token, answers 204, overwrites the key buffers and closes the API", async () => {
    t = await startTestServer();
    const { rootToken } = await initAndUnseal(t);
    const keyring = t.server.services.seal.box.keyringOrThrow();
    const held = [
      keyring.tokenHmacKey,
      keyring.auditSigningSeed,
      ...[...keyring.dataKeys.values()].map((dataKey) => dataKey.key),
    ];
    expect((await t.call("PUT", "/v1/sys/seal")).status).toBe(403);
    expect((await t.call("PUT", "/v1/sys/seal", { token: rootToken })).status).toBe(204);
    expect(held.every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
    expect((await t.call("GET", "/v1/sys/health")).status).toBe(503);
    expect((await t.call("GET", "/v1/sys/health?sealedcode=299")).status).toBe(299);
    expect((await t.call("GET", "/v1/totp/keys?list=true", { token: rootToken })).status).toBe(503);
  });
});

describe("init with custodians' OpenPGP keys made by GnuPG", () => {
  it("returns each share encrypted to its key; gpg -d gives the hex share, and the decrypted shares unseal", async () => {
    t = await startTestServer();
    const custodians = ["alice", "bob", "carol"].map(makeGpgKey);
    const binaryKey = gpg(custodians[2]?.home as string, ["--export"]);
    const pgpKeys = [
      custodians[0]?.armoredPublicKey,
      Buffer.from(custodians[1]?.armoredPublicKey ?? "").toString("base64"),
      binaryKey.toString("base64"),
    ];
    const init = await t.call("PUT", "/v1/sys/init", {
      body: { secret_shares: 3, secret_threshold: 2, pgp_keys: pgpKeys },
    });
    expect(init.status).toBe(200);
    const decrypted = init.json.keys_base64.map((share: string, i: number) =>
      custodians[i]?.decrypt(Buffer.from(share, "base64")),
    );
    expect(decrypted.every((share: string) => /^[0-9a-f]{66}$/.test(share))).toBe(true);
    // Each message is for its own custodian only.
    expect(() => custodians[0]?.decrypt(Buffer.from(init.json.keys_base64[1], "base64"))).toThrow();
    await t.call("PUT", "/v1/sys/unseal", { body: { key: decrypted[2] } });
    expect((await t.call("PUT", "/v1/sys/unseal", { body: { key: decrypted[0] } })).json.sealed).toBe(false);
    for (const custodian of custodians) custodian.dispose();
  });

  it("refuses a key count that differs from the shares, a non-key, and a private key", async () => {
    t = await startTestServer();
    const alice = makeGpgKey("alice");
    const secretKey = gpg(alice.home, ["--armor", "--export-secret-keys"]).toString();
    const cases: [unknown, RegExp][] = [
      [[alice.armoredPublicKey], /one key per share/],
      [[alice.armoredPublicKey, "bm90IGEga2V5"], /pgp_keys\[1\] is not an OpenPGP public key/],
      [[alice.armoredPublicKey, secretKey], /pgp_keys\[1\] is a private key/],
    ];
    for (const [pgpKeys, message] of cases) {
      const response = await t.call("PUT", "/v1/sys/init", {
        body: { secret_shares: 2, secret_threshold: 2, pgp_keys: pgpKeys },
      });
      expect(response.status).toBe(400);
      expect(response.json.errors[0]).toMatch(message);
      expect(response.text).not.toContain("PRIVATE KEY");
    }
    expect((await t.call("GET", "/v1/sys/init")).json.initialized).toBe(false);
    alice.dispose();
  });
});

describe("restart", () => {
  it("keeps keys and tokens, comes back sealed, and unsealing restores service", async () => {
    t = await startTestServer();
    const { keys, rootToken } = await initAndUnseal(t);
    await t.call("POST", "/v1/totp/keys/aws-prod-root", {
      token: rootToken,
      body: { key: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", issuer: "AWS" },
    });
    const reader = await t.call("POST", "/v1/auth/token/create", {
      token: rootToken,
      body: { policies: ["totp-reader"] },
    });
    const storage = t.storage;
    await t.close();

    t = await startTestServer({ storage });
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({
      initialized: true,
      sealed: true,
      t: 2,
      n: 3,
    });
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: rootToken })).status).toBe(503);
    for (const key of keys.slice(1)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    const code = await t.call("GET", "/v1/totp/code/aws-prod-root", { token: reader.json.auth.client_token });
    expect(code.status).toBe(200);
    expect(code.json.data.code).toMatch(/^\d{6}$/);
    expect((await t.call("GET", "/v1/totp/keys?list=true", { token: rootToken })).json.data.keys).toEqual([
      "aws-prod-root",
    ]);
  });
});
