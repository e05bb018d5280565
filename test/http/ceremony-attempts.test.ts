import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { type GpgHome, makeGpgKey } from "../support/tools.js";

/**
 * A ceremony nobody can hijack quietly. Starting a rekey or a root token generation needs no token
 * (as in Vault), so anyone who reaches the server can start one with their own PGP keys. What
 * protects the custodians: every attempt's status says who started it, from where, and what it
 * will make; every share must name the attempt's nonce (announced by the starter); and every start
 * and cancel is on the audit log and told to the team.
 */

let t: TestServer;
let root: string;
let keys: string[];
let hook: Awaited<ReturnType<typeof webhookReceiver>>;
let mallory: GpgHome;
let trent: GpgHome;
const ATTACKER_AGENT = "mallory-tool/1.0";

beforeAll(async () => {
  hook = await webhookReceiver();
  t = await startTestServer();
  ({ keys, rootToken: root } = await initAndUnseal(t, 3, 2));
  const webhook = await t.call("PUT", "/v1/notify/webhooks/team", {
    token: root,
    body: { url: hook.url, events: ["custody", "root.generated", "seed.exported"] },
  });
  expect(webhook.status).toBeLessThan(300);
  mallory = makeGpgKey("mallory");
  trent = makeGpgKey("trent");
});
afterAll(async () => {
  await t?.close();
  await hook?.close();
  mallory?.dispose();
  trent?.dispose();
});

const texts = () => hook.events().map((event) => event.text as string);

describe("a rekey started by someone unknown", () => {
  it("shows anonymous, their address and user agent, and the PGP keys and holders of the new shares", async () => {
    const before = Date.now();
    const started = await t.call("PUT", "/v1/sys/rekey/init", {
      headers: { "user-agent": ATTACKER_AGENT, "x-vault-token": "bgs.not-a-token" },
      body: {
        secret_shares: 2,
        secret_threshold: 2,
        pgp_keys: [mallory.armoredPublicKey, trent.armoredPublicKey],
      },
    });
    expect(started.status).toBe(200); // no token needed, and a bad one is no refusal (as in Vault)
    const status = (await t.call("GET", "/v1/sys/rekey/init")).json;
    expect(status).toMatchObject({
      started: true,
      nonce: started.json.nonce,
      t: 2,
      n: 2,
      started_by: {
        actor: "anonymous",
        display_name: null,
        remote_addr: "127.0.0.1",
        user_agent: ATTACKER_AGENT,
      },
      custodians: ["mallory <mallory@custodians.example>", "trent <trent@custodians.example>"],
    });
    // The fingerprints GnuPG itself gives for the keys: a custodian compares them with the announcement.
    expect(status.pgp_fingerprints.map((f: string) => f.toUpperCase())).toEqual([
      mallory.fingerprint,
      trent.fingerprint,
    ]);
    expect(Date.parse(status.started_by.time)).toBeGreaterThanOrEqual(before - 1000);

    const audit = await t.call("GET", "/v1/audit?action=sys.rekey&limit=10", { token: root });
    const entry = audit.json.data.entries.find(
      (e: { details: { stage?: string } }) => e.details.stage === "started",
    );
    expect(entry).toMatchObject({
      actor: "anonymous",
      remote_addr: "127.0.0.1",
      user_agent: ATTACKER_AGENT,
      details: { nonce: started.json.nonce, secret_shares: 2, secret_threshold: 2 },
    });
    expect(entry.details.pgp_fingerprints.toUpperCase()).toBe(`${mallory.fingerprint},${trent.fingerprint}`);

    await waitFor("the team is told of the rekey", () =>
      texts().some((text) => text.includes(started.json.nonce)),
    );
    const told = texts().find((text) => text.includes(started.json.nonce)) as string;
    expect(told).toContain(`anonymous from 127.0.0.1 (${ATTACKER_AGENT}) started a rekey`);
    expect(told.toUpperCase()).toContain(mallory.fingerprint);
    expect(told).toContain("mallory <mallory@custodians.example>");
  });

  it("is stopped by a custodian who does not recognise it, and the team hears of that too", async () => {
    const { nonce } = (await t.call("GET", "/v1/sys/rekey/init")).json;
    expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
    expect((await t.call("GET", "/v1/sys/rekey/init")).json).toMatchObject({
      started: false,
      started_by: null,
    });
    await waitFor("the team is told of the cancel", () =>
      texts().some((text) => text.includes(`cancelled a rekey (nonce ${nonce})`)),
    );
  });
});

describe("a rekey started with a token", () => {
  it("names the token and its display name; its nonce is fresh, and every share must give it", async () => {
    const first = await t.call("PUT", "/v1/sys/rekey/init", {
      token: root,
      body: { secret_shares: 3, secret_threshold: 2, custodians: ["ann", "ben", "cat"] },
    });
    expect(first.json.started_by).toMatchObject({
      actor: expect.stringMatching(/^token:/),
      display_name: "root",
    });
    expect(first.json.custodians).toEqual(["ann", "ben", "cat"]);
    expect(first.json.pgp_fingerprints).toBeNull(); // as Vault: null when the shares are not encrypted
    for (const nonce of [undefined, "", "another-attempt"]) {
      const refused = await t.call("PUT", "/v1/sys/rekey/update", { body: { key: keys[0], nonce } });
      expect(refused.status, String(nonce)).toBe(400);
      expect(refused.json.errors[0]).toMatch(/nonce does not match/);
    }
    expect((await t.call("GET", "/v1/sys/rekey/init")).json.progress).toBe(0);
    const given = await t.call("PUT", "/v1/sys/rekey/update", {
      body: { key: keys[0], nonce: first.json.nonce },
    });
    expect(given.json.progress).toBe(1);

    // Restarted: the old nonce no longer reaches it, so a share meant for the first attempt goes nowhere.
    expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
    const second = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 2, secret_threshold: 2 },
    });
    expect(second.json.nonce).not.toBe(first.json.nonce);
    const stale = await t.call("PUT", "/v1/sys/rekey/update", {
      body: { key: keys[1], nonce: first.json.nonce },
    });
    expect(stale.status).toBe(400);
    expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
  });
});

/**
 * Holds the check of whose share it is (SealService.custodianOf) until `release`, so a test can
 * cancel, restart or reset in the gap between a share's check and its counting.
 */
function pauseCustodianCheck() {
  const seal = t.server.services.seal;
  const custodianOf = seal.custodianOf;
  let reachedCheck!: () => void;
  const reached = new Promise<void>((resolve) => {
    reachedCheck = resolve;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  seal.custodianOf = async (config, share) => {
    reachedCheck();
    await released;
    return custodianOf.call(seal, config, share);
  };
  const restore = () => {
    seal.custodianOf = custodianOf;
    release();
  };
  return { reached, release, restore };
}

describe("a share still being checked when its attempt is cancelled and restarted", () => {
  it("does not count toward the new attempt: its request is refused (409) and the new attempt has no share", async () => {
    const first = await t.call("PUT", "/v1/sys/rekey/init", {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    const check = pauseCustodianCheck();
    try {
      const stale = t.call("PUT", "/v1/sys/rekey/update", {
        body: { key: keys[0], nonce: first.json.nonce },
      });
      await check.reached;
      expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
      const second = await t.call("PUT", "/v1/sys/rekey/init", {
        body: { secret_shares: 2, secret_threshold: 2 },
      });
      expect(second.status).toBe(200);
      check.release();
      const refused = await stale;
      expect(refused.status).toBe(409);
      expect(refused.json.errors[0]).toMatch(/was cancelled or restarted while this share was checked/);
      expect((await t.call("GET", "/v1/sys/rekey/init")).json).toMatchObject({
        nonce: second.json.nonce,
        progress: 0,
      });
    } finally {
      check.restore();
      await t.call("DELETE", "/v1/sys/rekey/init");
    }
  });

  it("an unseal share checked while progress is reset is not counted after the reset (409)", async () => {
    expect((await t.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
    await t.call("PUT", "/v1/sys/unseal", { body: { key: keys[0] } });
    const check = pauseCustodianCheck();
    try {
      const stale = t.call("PUT", "/v1/sys/unseal", { body: { key: keys[1] } });
      await check.reached;
      expect((await t.call("PUT", "/v1/sys/unseal", { body: { reset: true } })).json.progress).toBe(0);
      check.release();
      const refused = await stale;
      expect(refused.status).toBe(409);
      expect(refused.json.errors[0]).toMatch(/unseal progress was reset while this share was checked/);
      expect((await t.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ sealed: true, progress: 0 });
    } finally {
      check.restore();
      for (const key of keys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    }
    expect((await t.call("GET", "/v1/sys/seal-status")).json.sealed).toBe(false);
  });
});

describe("a root token generation", () => {
  it("shows who started it and which PGP key the token goes to, and is told to the team with its nonce", async () => {
    const started = await t.call("PUT", "/v1/sys/generate-root/attempt", {
      headers: { "user-agent": ATTACKER_AGENT },
      body: { pgp_key: mallory.armoredPublicKey },
    });
    expect(started.status).toBe(200);
    const status = (await t.call("GET", "/v1/sys/generate-root/attempt")).json;
    expect(status.started_by).toMatchObject({ actor: "anonymous", user_agent: ATTACKER_AGENT });
    expect(status.pgp_fingerprint.toUpperCase()).toBe(mallory.fingerprint);
    await waitFor("the team is told of the attempt", () =>
      texts().some((text) => text.includes(`started a root token generation (nonce ${started.json.nonce})`)),
    );
    expect((await t.call("DELETE", "/v1/sys/generate-root/attempt")).status).toBe(204);
  });
});

describe("a seed export", () => {
  it("names the admin token that asked, the credential and the key it goes to", async () => {
    const created = await t.call("POST", "/v1/totp/keys/registrar", {
      token: root,
      body: { generate: true, exported: false, issuer: "Registrar", account_name: "owner" },
    });
    expect(created.status).toBeLessThan(300);
    const started = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      token: root,
      body: { name: "registrar", pgp_key: trent.armoredPublicKey },
    });
    const status = (await t.call("GET", "/v1/sys/export-seed/attempt")).json;
    expect(status).toMatchObject({
      name: "registrar",
      requested_by: status.started_by.actor,
      started_by: { display_name: "root", remote_addr: "127.0.0.1" },
    });
    expect(status.pgp_fingerprint.toUpperCase()).toBe(trent.fingerprint);
    await waitFor("the team is told of the export", () =>
      texts().some((text) => text.includes(`started a seed export (nonce ${started.json.nonce})`)),
    );
    expect((await t.call("DELETE", "/v1/sys/export-seed/attempt")).status).toBe(204);
  });
});

describe("a write from a page on another site", () => {
  it("is refused before anything happens; the browser's own page and API clients are not", async () => {
    const body = { secret_shares: 2, secret_threshold: 2 };
    for (const site of ["cross-site", "same-site"]) {
      const refused = await t.call("POST", "/v1/sys/rekey/init", {
        headers: { "sec-fetch-site": site },
        body,
      });
      expect(refused.status, site).toBe(403);
      expect(refused.json.errors[0]).toMatch(/from another site/);
    }
    const reset = await t.call("PUT", "/v1/sys/unseal", {
      headers: { "sec-fetch-site": "cross-site" },
      body: { reset: true },
    });
    expect(reset.status).toBe(403);
    expect(
      (await t.call("GET", "/v1/sys/rekey/init", { headers: { "sec-fetch-site": "cross-site" } })).json
        .started,
    ).toBe(false);
    const own = await t.call("PUT", "/v1/sys/rekey/init", {
      headers: { "sec-fetch-site": "same-origin" },
      body,
    });
    expect(own.status).toBe(200);
    expect((await t.call("DELETE", "/v1/sys/rekey/init")).status).toBe(204);
  });
});
