import { randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sinkSecretAad } from "../../src/services/audit/sinks/sink-manager.js";
import { clientSecretAad } from "../../src/services/auth/oidc-settings.js";
import { smtpPasswordAad, webhookSecretAad } from "../../src/services/notify/notify-config.js";
import { secondFactorSeedAad } from "../../src/services/people/second-factor.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { signInAtProvider, startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { signatureVerifies, sleep, waitFor, webhookReceiver } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { openRawDatabase, skipOutsidePostgresPass } from "../support/storage.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * Data key rotation: Vault's sys/rotate and sys/key-status, and the background re-encryption of
 * every sealed secret (seeds, a person's second factor, sink and webhook credentials, the mail
 * password) under the new key.
 */

let t: TestServer;
let root: string;
let unsealKeys: string[];
let hook: Awaited<ReturnType<typeof webhookReceiver>>;
const tokens: Record<"operator" | "auditor" | "member", string> = { operator: "", auditor: "", member: "" };
/** More keys than one re-encryption batch (200), so the pass has to page. */
const seeds = new Map(Array.from({ length: 205 }, (_, i) => [`before-${i}`, randomBytes(20)]));
const WEBHOOK_SECRET = "rotation-webhook-secret-5f1c2a";
const SINK_AUTHORIZATION = "Bearer rotation-sink-credential-9d3e";
const SMTP_PASSWORD = "rotation-smtp-password-71be";
const ROSA_PASSWORD = "rosa has a long password";
/**
 * Sealed besides the seeds: a person's second factor, the sink, webhook and mail secrets, the
 * OpenID provider's client secret and a sign-in's refresh token.
 */
const OTHER_SECRETS = 6;
let idp: TestProvider;
/** A token from a sign-in with the provider: renewing it opens its sealed refresh token. */
let signedIn = "";
const secondFactorSeed = randomBytes(20);
const codeOf = (seed: Buffer, offset = 0) =>
  oathtoolCode(seed.toString("hex"), {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000) + offset,
  });

const createKey = (server: TestServer, name: string, seed: Buffer) =>
  server.call("POST", `/v1/totp/keys/${name}`, { token: root, body: { key: encodeBase32Upper(seed) } });
const keyStatus = (server: TestServer = t, token = root) =>
  server.call("GET", "/v1/sys/key-status", { token });

beforeAll(async () => {
  t = await startTestServer();
  ({ rootToken: root, keys: unsealKeys } = await initAndUnseal(t));
  hook = await webhookReceiver();
  const entries = [...seeds];
  for (let i = 0; i < entries.length; i += 25)
    await Promise.all(entries.slice(i, i + 25).map(([name, seed]) => createKey(t, name, seed)));
  expect((await t.call("GET", "/v1/totp/keys?list=true", { token: root })).json.data.keys).toHaveLength(
    seeds.size,
  );
  const configured = [
    await t.call("PUT", "/v1/notify/webhooks/ops", {
      token: root,
      body: { url: hook.url, events: "*", secret: WEBHOOK_SECRET },
    }),
    await t.call("PUT", "/v1/notify/smtp", {
      token: root,
      body: {
        host: "127.0.0.1",
        port: 2525,
        secure: false,
        from: "breakglass@example.com",
        to: ["security@example.com"],
        username: "breakglass",
        password: SMTP_PASSWORD,
        events: ["approval.requested"],
      },
    }),
    await t.call("PUT", "/v1/sys/audit/sinks/siem", {
      token: root,
      body: {
        type: "webhook",
        options: { url: `${hook.url}/sink`, batch_ms: 20, authorization: SINK_AUTHORIZATION },
      },
    }),
  ];
  expect(configured.map((response) => response.status)).toEqual([204, 204, 204]);
  await enableSecondFactor();
  signedIn = await signInWithProvider();
  for (const role of Object.keys(tokens) as (keyof typeof tokens)[]) {
    const policies = role === "member" ? ["default"] : [role];
    const created = await t.call("POST", "/v1/auth/token/create", { token: root, body: { policies } });
    tokens[role] = created.json.auth.client_token;
  }
});
afterAll(async () => {
  await t?.close();
  await hook?.close();
  await idp?.close();
});

/** A provider configured (its client secret sealed) and one sign-in through it (its refresh token sealed). */
async function signInWithProvider(): Promise<string> {
  const redirect = "http://localhost:8250/oidc/callback";
  idp = await startTestProvider({
    redirectUris: [redirect],
    people: { "sub-rosa": { username: "rosa", password: "rosa-at-the-provider" } },
  });
  const admin = (path: string, body: unknown) => t.call("PUT", path, { token: root, body });
  expect((await admin("/v1/auth/userpass/users/rosa", { sso: true })).status).toBe(204); // she exists already
  const config = {
    oidc_discovery_url: idp.issuer,
    oidc_client_id: idp.clientId,
    oidc_client_secret: idp.clientSecret,
  };
  expect((await admin("/v1/auth/oidc/config", config)).status).toBe(204);
  const role = {
    user_claim: "preferred_username",
    allowed_redirect_uris: [redirect],
    oidc_scopes: ["profile", "offline_access"],
  };
  expect((await admin("/v1/auth/oidc/role/staff", role)).status).toBe(204);
  const started = await t.call("POST", "/v1/auth/oidc/oidc/auth_url", {
    body: { role: "staff", redirect_uri: redirect },
  });
  const back = await signInAtProvider(started.json.data.auth_url, "rosa", "rosa-at-the-provider");
  const answer = await t.call("GET", `/v1/auth/oidc/oidc/callback?${back.searchParams}`);
  expect(answer.status, answer.text).toBe(200);
  return answer.json.auth.client_token;
}

/** rosa enrols her own second factor and confirms it: its seed is the one the enrolment showed. */
async function enableSecondFactor(): Promise<void> {
  await t.call("PUT", "/v1/auth/userpass/users/rosa", { token: root, body: { password: ROSA_PASSWORD } });
  const token = (await rosaLogin()).json.auth.client_token;
  const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} });
  const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
  Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes).copy(secondFactorSeed);
  const confirmed = await t.call("POST", "/v1/auth/userpass/mfa/confirm", {
    token,
    body: { code: codeOf(secondFactorSeed) },
  });
  expect(confirmed.status).toBe(204);
}

const rosaLogin = (totp?: string) =>
  t.call("POST", "/v1/auth/userpass/login/rosa", { body: { password: ROSA_PASSWORD, totp } });

/** The served code must be oathtool's at the served step. */
async function expectOathtoolCode(server: TestServer, name: string, seed: Buffer): Promise<void> {
  const response = await server.call("GET", `/v1/totp/code/${name}`, { token: root });
  expect(response.status).toBe(200);
  const { code, valid_from } = response.json.data;
  expect(code).toBe(
    oathtoolCode(seed.toString("hex"), { algorithm: "SHA1", digits: 6, period: 30, unixSeconds: valid_from }),
  );
}

/** Each sealed row, as stored: table/id → key version and ciphertext. */
async function sealedRows(
  server: TestServer = t,
): Promise<Map<string, { version: number; ciphertext: string }>> {
  const db = await openRawDatabase(server.storage);
  try {
    const rows = [
      ...(await db.rows(
        "select 'totp_keys/' || name as id, key_version, seed_ciphertext as c from totp_keys",
      )),
      ...(await db.rows(
        "select 'second_factors/' || username as id, key_version, seed_ciphertext as c from second_factors",
      )),
      ...(await db.rows(
        "select 'audit_sinks/' || name as id, key_version, secret_ciphertext as c from audit_sinks",
      )),
      ...(await db.rows(
        "select 'notify_webhooks/' || name as id, key_version, secret_ciphertext as c from notify_webhooks",
      )),
      ...(await db.rows(
        "select 'notify_smtp/1' as id, key_version, password_ciphertext as c from notify_smtp",
      )),
      ...(await db.rows(
        "select 'oidc_config/1' as id, key_version, client_secret_ciphertext as c from oidc_config",
      )),
      ...(await db.rows(
        "select 'oidc_logins/' || accessor as id, key_version, refresh_ciphertext as c from oidc_logins",
      )),
    ];
    return new Map(
      rows.map((row) => [String(row.id), { version: Number(row.key_version), ciphertext: String(row.c) }]),
    );
  } finally {
    await db.close();
  }
}

/** Polls key-status until every sealed secret is under `term` and no pass runs; bounded. */
async function reencryptedTo(term: number, server: TestServer = t): Promise<Record<string, number>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await keyStatus(server)).json;
    if (Object.keys(status.rows_by_version).join() === String(term) && !status.reencryption_running)
      return status.rows_by_version;
    if (Date.now() > deadline)
      throw new Error(`not re-encrypted to ${term} in time: ${JSON.stringify(status.rows_by_version)}`);
    await sleep(100);
  }
}

describe("who may rotate and read the key status", () => {
  it("refuses rotation without a token and to operators (403), and changes nothing", async () => {
    for (const token of [undefined, tokens.operator, tokens.auditor, tokens.member]) {
      for (const method of ["PUT", "POST"]) {
        const response = await t.call(method, "/v1/sys/rotate", { token });
        expect(response.status).toBe(403);
        expect(response.json.errors).toEqual(["permission denied"]);
      }
    }
    expect((await keyStatus()).json.term).toBe(1);
  });

  it("shows the key status to operators and auditors, not to members", async () => {
    expect((await keyStatus(t, tokens.operator)).status).toBe(200);
    expect((await keyStatus(t, tokens.auditor)).status).toBe(200);
    expect((await keyStatus(t, tokens.member)).status).toBe(403);
    expect((await t.call("GET", "/v1/sys/key-status")).status).toBe(403);
  });

  it("answers as Vault does before any rotation: term 1, fields at the top level and under data", async () => {
    const status = (await keyStatus()).json;
    expect(status).toMatchObject({ term: 1, reencryption_running: false });
    expect(status.rows_by_version).toEqual({ "1": seeds.size + OTHER_SECRETS });
    expect(status.encryptions).toBe(seeds.size + OTHER_SECRETS);
    expect(status.data).toEqual({
      term: 1,
      install_time: status.install_time,
      encryptions: status.encryptions,
      rows_by_version: status.rows_by_version,
      reencryption_running: false,
    });
  });
});

describe("rotating the data key", () => {
  let before: Awaited<ReturnType<typeof sealedRows>>;

  it("adds term 2 (204, no body), installed now and on the audit chain", async () => {
    before = await sealedRows();
    expect([...before.values()].every((row) => row.version === 1)).toBe(true);
    const rotated = await t.call("PUT", "/v1/sys/rotate", { token: root });
    expect(rotated.status).toBe(204);
    expect(rotated.text).toBe("");
    const status = (await keyStatus()).json;
    expect(status.term).toBe(2);
    expect(status.install_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.now() - Date.parse(status.install_time)).toBeLessThan(60_000);
    const audited = (await t.call("GET", "/v1/audit?action=sys.rotate&outcome=allowed", { token: root })).json
      .data.entries;
    expect(audited.map((entry: { details: { term: number } }) => entry.details.term)).toEqual([2]);
  });

  it("seals a key created afterwards under version 2", async () => {
    const seed = randomBytes(20);
    seeds.set("after-rotation", seed);
    expect((await createKey(t, "after-rotation", seed)).status).toBe(204);
    expect((await sealedRows()).get("totp_keys/after-rotation")?.version).toBe(2);
    await expectOathtoolCode(t, "after-rotation", seed);
  });

  it("re-encrypts every older secret under version 2 in the background, and records the pass once", async () => {
    const counts = await reencryptedTo(2);
    expect(counts).toEqual({ "2": seeds.size + OTHER_SECRETS });
    const after = await sealedRows();
    expect(after.size).toBe(before.size + 1);
    for (const [id, row] of before) {
      expect(after.get(id)?.version, id).toBe(2);
      expect(after.get(id)?.ciphertext, id).not.toBe(row.ciphertext);
    }
    const passes = (await t.call("GET", "/v1/audit?action=sys.rotate.reencrypted", { token: root })).json.data
      .entries;
    expect(passes).toHaveLength(1);
    expect(passes[0].outcome).toBe("allowed");
    expect(passes[0].details).toEqual({
      totp_seed: seeds.size - 1,
      second_factor_seed: 1,
      audit_sink_secret: 1,
      notify_webhook_secret: 1,
      notify_smtp_password: 1,
      oidc_client_secret: 1,
      oidc_refresh_token: 1,
      term: 2,
      complete: true,
    });
  });

  it("still gives oathtool's codes for the keys made before", async () => {
    for (const name of ["before-0", "before-117", "before-204"])
      await expectOathtoolCode(t, name, seeds.get(name) as Buffer);
  });

  it("keeps the sink, webhook and mail secrets: each re-encrypted row opens as its own", async () => {
    const rows = await sealedRows();
    const { seal } = t.server.services;
    const open = (id: string, aad: (version: number) => string) => {
      const row = rows.get(id) as { version: number; ciphertext: string };
      expect(row.version).toBe(2);
      return seal.box
        .openSecret(Buffer.from(row.ciphertext, "base64"), row.version, aad(row.version))
        .toString();
    };
    expect(open("audit_sinks/siem", sinkSecretAad("siem"))).toBe(SINK_AUTHORIZATION);
    expect(open("notify_webhooks/ops", webhookSecretAad("ops"))).toBe(WEBHOOK_SECRET);
    expect(open("notify_smtp/1", smtpPasswordAad)).toBe(SMTP_PASSWORD);
    expect(open("oidc_config/1", clientSecretAad("1"))).toBe(idp.clientSecret);
    // The refresh token, re-encrypted, still renews the sign-in through the provider.
    const renewed = await t.call("POST", "/v1/auth/token/renew-self", { token: signedIn, body: {} });
    expect(renewed.status, renewed.text).toBe(200);
  });

  it("re-encrypts a person's second factor too: it opens as her row only, and she logs in with its code", async () => {
    const row = (await sealedRows()).get("second_factors/rosa") as { version: number; ciphertext: string };
    expect(row.version).toBe(2);
    const { seal } = t.server.services;
    const ciphertext = Buffer.from(row.ciphertext, "base64");
    expect(seal.box.openSecret(ciphertext, 2, secondFactorSeedAad("rosa")(2))).toEqual(secondFactorSeed);
    expect(() => seal.box.openSecret(ciphertext, 2, secondFactorSeedAad("rosa", "totp_keys")(2))).toThrow();
    expect((await rosaLogin()).status).toBe(400);
    expect((await rosaLogin(codeOf(secondFactorSeed, 30))).status).toBe(200);
  });

  it("sends with the re-encrypted secrets: the sink's authorization and the webhook's signature", async () => {
    // Both re-read the store now, as their timers would within a refresh interval.
    await t.server.services.auditSinkManager.refresh();
    await t.server.services.notifier.refresh();
    const sent = hook.requests.length;
    const read = await t.call("GET", "/v1/totp/code/before-0?reason=after-rotation", { token: root });
    const requestId = read.headers.get("x-request-id") as string;
    const fresh = () => hook.requests.slice(sent).filter((received) => received.body.includes(requestId));
    await waitFor("the sink and the webhook", () => fresh().some((r) => r.url.endsWith("/sink")));
    await waitFor("the webhook", () => fresh().some((r) => !r.url.endsWith("/sink")));
    for (const received of fresh())
      if (received.url.endsWith("/sink")) expect(received.headers.authorization).toBe(SINK_AUTHORIZATION);
      else expect(signatureVerifies(received, WEBHOOK_SECRET)).toBe(true);
  });

  it("goes on to term 3 when rotated again, and the rows follow", async () => {
    expect((await t.call("POST", "/v1/sys/rotate", { token: root })).status).toBe(204);
    expect((await keyStatus()).json.term).toBe(3);
    expect(await reencryptedTo(3)).toEqual({ "3": seeds.size + OTHER_SECRETS });
  });

  it("answers 503 while sealed, and after unsealing has the rotated keyring: term 3, the same codes", async () => {
    expect((await t.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
    for (const response of [await keyStatus(), await t.call("PUT", "/v1/sys/rotate", { token: root })]) {
      expect(response.status).toBe(503);
      expect(response.json).toEqual({ errors: ["Vault is sealed"], code: "SEALED" });
    }
    for (const key of unsealKeys.slice(0, 2)) await t.call("PUT", "/v1/sys/unseal", { body: { key } });
    const status = (await keyStatus()).json;
    expect(status.term).toBe(3);
    expect(status.rows_by_version).toEqual({ "3": seeds.size + OTHER_SECRETS });
    for (const name of ["before-3", "after-rotation"])
      await expectOathtoolCode(t, name, seeds.get(name) as Buffer);
  });

  it("leaves a row that changed meanwhile as it is (compare-and-swap)", async () => {
    const { store, seal } = t.server.services;
    const [row] = await store.secrets.listSealedBefore("totp_seed", 4, null, 1);
    if (!row) throw new Error("no sealed row");
    const stale = { ...row, ciphertext: Buffer.from("not what is stored") };
    const next = seal.box.sealSecret(Buffer.from("x"), () => "unused");
    expect(await store.secrets.replaceSealed("totp_seed", stale, next)).toBe(false);
    expect(await store.secrets.replaceSealed("totp_seed", { ...row, keyVersion: 2 }, next)).toBe(false);
    expect((await store.secrets.listSealedBefore("totp_seed", 4, null, 1))[0]).toEqual(row);
  });
});

describe.skipIf(skipOutsidePostgresPass("data key rotation on several nodes"))("two nodes", () => {
  it("a node takes up a keyring rotated on another: it reads keys sealed under the new term, and rotates on", async () => {
    const other = await startTestServer({ storage: t.storage });
    try {
      for (const key of unsealKeys.slice(0, 2)) await other.call("PUT", "/v1/sys/unseal", { body: { key } });
      const term = (await keyStatus()).json.term as number;
      expect((await keyStatus(other)).json.term).toBe(term);

      expect((await t.call("PUT", "/v1/sys/rotate", { token: root })).status).toBe(204);
      const seed = randomBytes(20);
      expect((await createKey(t, "made-on-a", seed)).status).toBe(204);
      expect((await sealedRows()).get("totp_keys/made-on-a")?.version).toBe(term + 1);
      await expectOathtoolCode(other, "made-on-a", seed);
      await expectOathtoolCode(other, "before-1", seeds.get("before-1") as Buffer);
      expect((await keyStatus(other)).json.term).toBe(term + 1);

      // The other node now holds the stored keyring, so it can rotate in its turn.
      expect((await other.call("PUT", "/v1/sys/rotate", { token: root })).status).toBe(204);
      const seedB = randomBytes(20);
      expect((await createKey(other, "made-on-b", seedB)).status).toBe(204);
      await expectOathtoolCode(t, "made-on-b", seedB);
      await reencryptedTo(term + 2, other);
      await expectOathtoolCode(t, "before-2", seeds.get("before-2") as Buffer);
    } finally {
      await other.close();
    }
  });
});
