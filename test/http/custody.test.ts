import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { type ApiResponse, startTestServer, type TestServer } from "../support/server.js";
import { type GpgHome, makeGpgKey, oathtoolCode } from "../support/tools.js";

/**
 * Custody ceremonies, acceptance of issue 6: k-of-n unseal, rekey, seed export by quorum (the
 * message decrypted by GnuPG), drills and the bus factor, generate-root with Vault's OTP decode.
 */

let t: TestServer;
afterEach(async () => {
  await t?.close();
});

async function initFiveOfThree(server: TestServer, custodians?: string[]) {
  const init = await server.call("PUT", "/v1/sys/init", {
    body: { secret_shares: 5, secret_threshold: 3, ...(custodians ? { custodians } : {}) },
  });
  expect(init.status).toBe(200);
  return { keys: init.json.keys as string[], root: init.json.root_token as string };
}

async function unsealWith(server: TestServer, keys: string[]): Promise<ApiResponse> {
  let last: ApiResponse | null = null;
  for (const key of keys) last = await server.call("PUT", "/v1/sys/unseal", { body: { key } });
  return last as ApiResponse;
}

async function seal(server: TestServer, token: string) {
  expect((await server.call("PUT", "/v1/sys/seal", { token })).status).toBe(204);
}

async function addKey(server: TestServer, token: string, name: string, seed: Buffer) {
  const url = `otpauth://totp/Example:${name}?secret=${encodeBase32Upper(seed)}&issuer=Example`;
  const created = await server.call("POST", `/v1/totp/keys/${name}`, { token, body: { url } });
  expect(created.status).toBeLessThan(300);
  return url;
}

async function expectOathtoolCode(server: TestServer, token: string, name: string, seed: Buffer) {
  const read = await server.call("GET", `/v1/totp/code/${name}`, { token });
  expect(read.status).toBe(200);
  const data = read.json.data;
  expect(data.code).toBe(
    oathtoolCode(seed.toString("hex"), {
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      unixSeconds: data.valid_from,
    }),
  );
}

describe("5 shares, threshold 3", () => {
  it("three different trios unseal; two shares never; one share given three times counts once", async () => {
    t = await startTestServer();
    const { keys, root } = await initFiveOfThree(t);
    for (const trio of [
      [0, 1, 2],
      [2, 3, 4],
      [0, 2, 4],
    ]) {
      const twoGiven = await unsealWith(t, [keys[trio[0] as number], keys[trio[1] as number]] as string[]);
      expect(twoGiven.json).toMatchObject({ sealed: true, progress: 2 });
      const third = await unsealWith(t, [keys[trio[2] as number] as string]);
      expect(third.json.sealed).toBe(false);
      await seal(t, root);
    }
    const same = await unsealWith(t, [keys[1], keys[1], keys[1]] as string[]);
    expect(same.json).toMatchObject({ sealed: true, progress: 1 });
    const reset = await t.call("PUT", "/v1/sys/unseal", { body: { reset: true } });
    expect(reset.json.progress).toBe(0);
    const pair = await unsealWith(t, [keys[3], keys[4]] as string[]);
    expect(pair.json).toMatchObject({ sealed: true, progress: 2 });
    expect((await t.call("GET", "/v1/totp/keys?list=true", { token: root })).status).toBe(503);
  });
});

describe("rekey", () => {
  it("to 4 shares, threshold 2: two new shares unseal, the old ones no longer do; custodians are named", async () => {
    t = await startTestServer();
    const { keys, root } = await initFiveOfThree(t, ["alice", "bob", "carol", "dave", "erin"]);
    await unsealWith(t, keys.slice(0, 3));
    const seed = randomBytes(20);
    await addKey(t, root, "aws-root", seed);

    const started = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 4, secret_threshold: 2, custodians: ["frank", "grace", "heidi", "ivan"] },
    });
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ started: true, t: 2, n: 4, progress: 0, required: 3 });
    const nonce = started.json.nonce as string;
    expect(
      (await t.call("PUT", "/v1/sys/rekey/init", { body: { secret_shares: 3, secret_threshold: 2 } })).status,
    ).toBe(409);
    expect(
      (await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce: "wrong" } })).status,
    ).toBe(400);

    const first = await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce } });
    expect(first.json).toMatchObject({ complete: false, progress: 1, custodians_given: ["alice"] });
    expect(first.json.custodians_missing).toEqual(["bob", "carol", "dave", "erin"]);
    await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce } }); // counts once
    const second = await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[3], nonce } });
    expect(second.json).toMatchObject({ complete: false, progress: 2 });
    const done = await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[4], nonce } });
    expect(done.status).toBe(200);
    expect(done.json.complete).toBe(true);
    expect(done.json.keys).toHaveLength(4);
    expect(done.json.custodians).toEqual(["frank", "grace", "heidi", "ivan"]);
    const newKeys = done.json.keys as string[];
    expect((await t.call("GET", "/v1/sys/rekey/init")).json.started).toBe(false);
    expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ t: 2, n: 4, sealed: false });

    await seal(t, root);
    // The new threshold is 2: any two old shares are taken as a quorum, and refused.
    for (const pair of [
      [0, 1],
      [2, 3],
      [1, 4],
    ]) {
      const old = await unsealWith(
        t,
        pair.map((i) => keys[i] as string),
      );
      expect(old.status).toBe(400);
      expect(old.json.errors[0]).toMatch(/do not combine/);
    }
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(true);
    const fresh = await unsealWith(t, [newKeys[1], newKeys[3]] as string[]);
    expect(fresh.json.sealed).toBe(false);
    await expectOathtoolCode(t, root, "aws-root", seed);

    const listed = await t.call("GET", "/v1/sys/custodians", { token: root });
    expect(listed.json.custodians.map((c: { name: string }) => c.name)).toEqual([
      "frank",
      "grace",
      "heidi",
      "ivan",
    ]);
    const drilled = await t.call("PUT", "/v1/sys/custodians/drill", { body: { key: newKeys[2] } });
    expect(drilled.json.custodian).toBe("heidi");
    expect((await t.call("PUT", "/v1/sys/custodians/drill", { body: { key: keys[2] } })).status).toBe(400);
  });

  it("refuses shares that do not make the root key and resets progress; cancel ends it; sealed answers 503", async () => {
    t = await startTestServer();
    const { keys } = await initFiveOfThree(t);
    const other = await startTestServer();
    try {
      const otherKeys = (await initFiveOfThree(other)).keys;
      await unsealWith(t, keys.slice(0, 3));
      const { nonce } = (
        await t.call("PUT", "/v1/sys/rekey/init", { body: { secret_shares: 2, secret_threshold: 2 } })
      ).json;
      await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce } });
      await t.call("PUT", "/v1/sys/rekey/update", { body: { key: otherKeys[1], nonce } });
      const mixed = await t.call("PUT", "/v1/sys/rekey/update", { body: { key: otherKeys[2], nonce } });
      expect(mixed.status).toBe(400);
      expect(mixed.json.errors[0]).toMatch(/do not combine/);
      expect((await t.call("GET", "/v1/sys/rekey/init")).json).toMatchObject({ started: true, progress: 0 });
      expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
      // Sealing ends an attempt too, and forgets its shares.
      const again = await t.call("PUT", "/v1/sys/rekey/init", {
        body: { secret_shares: 2, secret_threshold: 2 },
      });
      await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce: again.json.nonce } });
      t.server.services.seal.wipe();
      await unsealWith(t, keys.slice(2, 5));
      expect((await t.call("GET", "/v1/sys/rekey/init")).json).toMatchObject({ started: false, progress: 0 });
      expect((await t.call("GET", "/v1/sys/rekey/init")).json.started).toBe(false);
      // The shares still unseal: nothing changed.
      const status = await t.call("GET", "/v1/sys/seal-status");
      expect(status.json).toMatchObject({ t: 3, n: 5 });
    } finally {
      await other.close();
    }
  });
});

describe("seed export by quorum", () => {
  let custodianGpg: GpgHome;
  beforeAll(() => {
    custodianGpg = makeGpgKey("exporter");
  });
  afterAll(() => custodianGpg.dispose());

  it("3 of 5: two updates release nothing; the third returns a PGP message GnuPG decrypts to the otpauth URI", async () => {
    t = await startTestServer();
    const { keys, root } = await initFiveOfThree(t);
    await unsealWith(t, keys.slice(0, 3));
    const seed = randomBytes(20);
    await addKey(t, root, "registrar", seed);

    const anonymous = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      body: { name: "registrar", pgp_key: custodianGpg.armoredPublicKey },
    });
    expect(anonymous.status).toBe(403);
    const missing = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      token: root,
      body: { name: "nope", pgp_key: custodianGpg.armoredPublicKey },
    });
    expect(missing.status).toBe(404);
    const badKey = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      token: root,
      body: { name: "registrar", pgp_key: "not a key" },
    });
    expect(badKey.status).toBe(400);

    const started = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      token: root,
      body: { name: "registrar", pgp_key: custodianGpg.armoredPublicKey },
    });
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({
      started: true,
      name: "registrar",
      required: 3,
      requested_by: expect.stringMatching(/^token:/),
    });
    const nonce = started.json.nonce as string;
    // A custodian sees what they are asked to release before giving their share.
    expect((await t.call("GET", "/v1/sys/export-seed/attempt")).json.pgp_fingerprint).toBe(
      started.json.pgp_fingerprint,
    );

    for (const key of keys.slice(1, 3)) {
      const partial = await t.call("PUT", "/v1/sys/export-seed/update", { body: { key, nonce } });
      expect(partial.status).toBe(200);
      expect(partial.json.complete).toBe(false);
      expect(partial.json.encrypted_seed).toBeUndefined();
      expect(partial.text).not.toContain(encodeBase32Upper(seed));
    }
    const released = await t.call("PUT", "/v1/sys/export-seed/update", { body: { key: keys[4], nonce } });
    expect(released.status).toBe(200);
    expect(released.json.complete).toBe(true);
    const message = released.json.encrypted_seed as string;
    expect(message).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    expect(message).not.toContain(encodeBase32Upper(seed));
    const uri = custodianGpg.decrypt(Buffer.from(message));
    expect(uri).toContain("otpauth://totp/");
    expect(new URL(uri).searchParams.get("secret")).toBe(encodeBase32Upper(seed).replace(/=+$/, ""));
    expect((await t.call("GET", "/v1/sys/export-seed/attempt")).json.started).toBe(false);

    const audit = await t.call("GET", "/v1/audit?action=totp.key.export&limit=100", { token: root });
    const stages = audit.json.data.entries.map((e: { details: { stage?: string } }) => e.details.stage);
    expect(stages).toEqual(expect.arrayContaining(["started", "share", "released"]));
  });
});

describe("drills and the bus factor", () => {
  it("names each own share's custodian, refuses another vault's, leaves the seal as it was; the warning appears and clears", async () => {
    const hook = await webhookReceiver();
    // Checked at each drill only (no timer), so the notices follow the drills, not a race with setup.
    t = await startTestServer({ custody: { checkEveryMs: 3_600_000 } });
    try {
      const { keys, root } = await initFiveOfThree(t, ["alice", "bob", "carol", "dave", "erin"]);
      await unsealWith(t, keys.slice(0, 3));
      const webhook = await t.call("PUT", "/v1/notify/webhooks/custody", {
        token: root,
        body: { url: hook.url, events: ["custody"] },
      });
      expect(webhook.status).toBeLessThan(300);
      await seal(t, root);
      await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
      const before = (await t.call("GET", "/v1/sys/seal-status")).json;
      expect(before).toMatchObject({ sealed: true, progress: 1 });
      expect(before.custody_warning).toMatch(/only 0 of 5 custodians/);

      const other = await startTestServer();
      let foreign: string;
      try {
        foreign = (await initFiveOfThree(other)).keys[0] as string;
      } finally {
        await other.close();
      }
      const refused = await t.call("PUT", "/v1/sys/custodians/drill", { body: { key: foreign } });
      expect(refused.status).toBe(400);
      expect(refused.json.errors[0]).toMatch(/does not belong to this vault/);
      expect((await t.call("PUT", "/v1/sys/custodians/drill", { body: { key: "zz" } })).status).toBe(400);

      const names = ["alice", "bob", "carol", "dave"];
      for (const [i, name] of names.entries()) {
        const drill = await t.call("PUT", "/v1/sys/custodians/drill", { body: { key: keys[i] } });
        expect(drill.status).toBe(200);
        expect(drill.json).toMatchObject({ custodian: name, share_index: i + 1 });
        expect(drill.json.bus_factor.verified_recently).toBe(i + 1);
        const status = (await t.call("GET", "/v1/sys/seal-status")).json;
        expect(status).toMatchObject({ sealed: true, progress: 1 }); // drills change no seal state
        if (i < 3) expect(status.custody_warning).toMatch(new RegExp(`only ${i + 1} of 5`));
        else expect(status.custody_warning).toBeNull();
      }
      const metrics = await t.call("GET", "/metrics");
      expect(metrics.text).toMatch(/^breakglass_custody_warning 0$/m);
      expect(metrics.text).toMatch(/^breakglass_custodians_verified_recently 4$/m);

      // The webhook needs the keyring to sign: unseal, and the monitor's notices arrive.
      await unsealWith(t, keys.slice(1, 3));
      await waitFor("the bus-factor notices", () => hook.events().some((e) => /restored/.test(e.text)));
      const texts = hook.events().map((e) => e.text as string);
      expect(texts.some((text) => /only \d of 5 custodians/.test(text))).toBe(true);

      const listed = await t.call("GET", "/v1/sys/custodians", { token: root });
      expect(listed.json.bus_factor).toMatchObject({ verified_recently: 4, needed: 4, warning: null });
      expect(listed.json.custodians[4]).toMatchObject({
        name: "erin",
        last_verified: null,
        verified_recently: false,
      });
      expect(listed.text).not.toMatch(/share_hash/);
    } finally {
      await hook.close();
    }
  });
});

describe("generate root", () => {
  it("with 3 shares yields a working admin token, decoded as Vault does (base64 XOR the one-time pad)", async () => {
    t = await startTestServer();
    const { keys } = await initFiveOfThree(t);
    await unsealWith(t, keys.slice(0, 3));
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", { body: {} });
    expect(started.status).toBe(200);
    const { otp, nonce, otp_length } = started.json;
    expect(otp).toMatch(/^[A-Za-z0-9]+$/);
    expect(otp.length).toBe(otp_length);
    expect((await t.call("GET", "/v1/sys/generate-root/attempt")).json.otp).toBe(""); // shown once

    for (const key of keys.slice(2, 4)) {
      const partial = await t.call("PUT", "/v1/sys/generate-root/update", { body: { key, nonce } });
      expect(partial.json).toMatchObject({ complete: false, encoded_token: "" });
    }
    const done = await t.call("PUT", "/v1/sys/generate-root/update", { body: { key: keys[0], nonce } });
    expect(done.json.complete).toBe(true);
    // Vault's sdk/helper/roottoken DecodeToken: base64.RawStdEncoding, then XOR byte by byte with the OTP.
    const encoded = Buffer.from(done.json.encoded_token, "base64");
    const token = Buffer.from(encoded.map((byte, i) => byte ^ otp.charCodeAt(i))).toString("utf8");
    expect(token).toMatch(/^bgs\./);
    expect(done.text).not.toContain(token);
    const self = await t.call("GET", "/v1/auth/token/lookup-self", { token });
    expect(self.status).toBe(200);
    expect(self.json.data.policies).toContain("root");
    expect((await t.call("GET", "/v1/audit?limit=1", { token })).status).toBe(200);
    expect((await t.call("PUT", "/v1/sys/generate-root/attempt", { body: { otp: "abc" } })).status).toBe(400);
  });
});
