import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import * as OTPAuth from "otpauth";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logOptions } from "../../src/server/log-options.js";
import { binarySecret, encodeBase32Upper, findLeaks, type Secret, textSecret } from "../support/encodings.js";
import { signInAtProvider, startTestProvider, type TestProvider } from "../support/oidc-provider.js";
import { smtpReceiver, waitFor, webhookReceiver } from "../support/receivers.js";
import { type CallOptions, startTestServer, type TestServer } from "../support/server.js";
import { type GpgHome, makeGpgKey, oathtoolCode, qrencodePng, tempDir } from "../support/tools.js";

/**
 * No secret in any log line at any level. Two servers log everything, at trace level, while every
 * flow that handles a secret runs through them: init with and without PGP keys, unseal, keys added
 * by URI, secret, QR and generation, code reads with enroll, tokens, userpass logins with a password
 * and a second factor, a browser session, a sign-in with an OpenID provider and its renewal, rekey, generate-root, seed export, a backup, an audit
 * sink and notification channels with their credentials. Then each secret is looked for in both
 * logs in every encoding (test/support/encodings.ts). test/http/secrecy.test.ts does the same for
 * seeds in responses and stored files.
 */

const SMTP_USER = "mailer";
const SMTP_PASSWORD = `smtp-${randomBytes(12).toString("hex")}`;
const SINK_AUTHORIZATION = `Bearer sink-${randomBytes(16).toString("hex")}`;
const WEBHOOK_SECRET = `hook-${randomBytes(16).toString("hex")}`;
/** The log line of a sink that cannot deliver: its error, described, goes into the log. */
const FAILING_SINK = /"sink":"sink:unreachable"[^\n]*failing: retrying/;
const PASSWORD = `pass ${randomBytes(9).toString("base64url")} word`;
const OIDC_REDIRECT = "http://localhost:8250/oidc/callback";
let idp: TestProvider;

let plain: TestServer;
let withPgp: TestServer;
let hook: Awaited<ReturnType<typeof webhookReceiver>>;
let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
let custodians: GpgHome[];
const secrets: Secret[] = [];
let calls = 0;

const keep = (name: string, text: string) => {
  secrets.push(textSecret(name, text));
};
/** A token, and its random part alone (a log that dropped the prefix would still leak it). */
const keepToken = (name: string, token: string) => {
  keep(name, token);
  keep(`${name} without its prefix`, token.replace(/^bgs\./, ""));
};
const keepShares = (what: string, hexShares: string[]) => {
  for (const [i, hex] of hexShares.entries())
    secrets.push(binarySecret(`${what} ${i + 1}`, Buffer.from(hex, "hex")));
};
const seedOfUrl = (url: string) =>
  OTPAuth.Secret.fromBase32(new URL(url).searchParams.get("secret") as string).bytes;

async function call(server: TestServer, method: string, path: string, options: CallOptions = {}) {
  calls += 1;
  const response = await server.call(method, path, options);
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
  return response;
}

const codeNow = (seed: Uint8Array, offset = 0) =>
  oathtoolCode(Buffer.from(seed).toString("hex"), {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000) + offset,
  });

/** A ceremony from start to end with `shares`; returns the last answer. */
async function ceremony(
  server: TestServer,
  start: string,
  update: string,
  body: unknown,
  token: string,
  shares: string[],
) {
  const started = await call(server, "PUT", start, { body, token });
  let last = started;
  for (const key of shares)
    last = await call(server, "PUT", update, { body: { key, nonce: started.json.nonce } });
  return { started, last };
}

beforeAll(async () => {
  hook = await webhookReceiver();
  smtp = await smtpReceiver(SMTP_USER, SMTP_PASSWORD);
  custodians = ["cleo", "dan"].map(makeGpgKey);
  plain = await startTestServer({ captureLog: "trace" });
  withPgp = await startTestServer({ captureLog: "trace" });
  secrets.push(
    textSecret("the SMTP password", SMTP_PASSWORD),
    textSecret("the sink's Authorization", SINK_AUTHORIZATION),
  );
  keep("the given webhook secret", WEBHOOK_SECRET);
  keep("a person's password", PASSWORD);

  // Init without PGP; unseal.
  const init = await call(plain, "PUT", "/v1/sys/init", { body: { secret_shares: 3, secret_threshold: 2 } });
  const shares = init.json.keys as string[];
  const root = init.json.root_token as string;
  keepShares("init share", shares);
  keepToken("the root token", root);
  for (const key of shares.slice(0, 2)) await call(plain, "PUT", "/v1/sys/unseal", { body: { key } });

  // Channels with credentials first, so every later event goes through them.
  await call(plain, "PUT", "/v1/sys/audit/sinks/siem", {
    token: root,
    body: { type: "webhook", options: { url: hook.url, batch_ms: 50, authorization: SINK_AUTHORIZATION } },
  });
  await call(plain, "PUT", "/v1/sys/audit/sinks/unreachable", {
    token: root,
    body: {
      type: "webhook",
      options: { url: "http://127.0.0.1:9/", batch_ms: 0, authorization: SINK_AUTHORIZATION },
    },
  });
  await call(plain, "PUT", "/v1/notify/webhooks/team", {
    token: root,
    body: { url: hook.url, events: "*", secret: WEBHOOK_SECRET },
  });
  const generated = await call(plain, "PUT", "/v1/notify/webhooks/ops", {
    token: root,
    body: { url: hook.url, events: "*" },
  });
  keep("a generated webhook secret", generated.json.data.secret);
  await call(plain, "PUT", "/v1/notify/smtp", {
    token: root,
    body: {
      host: "127.0.0.1",
      port: smtp.port,
      secure: false,
      from: "bg@example.com",
      to: ["team@example.com"],
      username: SMTP_USER,
      password: SMTP_PASSWORD,
      events: "*",
    },
  });

  // Keys by URI, secret, QR and generation; code reads, with enroll.
  const seeds = { uri: randomBytes(20), secret: randomBytes(32), qr: randomBytes(20) };
  for (const [name, seed] of Object.entries(seeds)) secrets.push(binarySecret(`the ${name} seed`, seed));
  await call(plain, "POST", "/v1/totp/keys/by-uri", {
    token: root,
    body: { url: `otpauth://totp/AWS:root?secret=${encodeBase32Upper(seeds.uri)}&issuer=AWS` },
  });
  await call(plain, "POST", "/v1/totp/keys/by-secret", {
    token: root,
    body: { key: encodeBase32Upper(seeds.secret) },
  });
  const png = readFileSync(
    qrencodePng(`otpauth://totp/Bank:ops?secret=${encodeBase32Upper(seeds.qr)}`, tempDir()),
  );
  await call(plain, "POST", "/v1/totp/keys/by-qr", {
    token: root,
    body: { qr_image: png.toString("base64") },
  });
  const made = await call(plain, "POST", "/v1/totp/keys/made", {
    token: root,
    body: { generate: true, exported: true, issuer: "Registrar", account_name: "owner" },
  });
  secrets.push(binarySecret("the generated seed", seedOfUrl(made.json.data.url)));
  for (const name of ["by-uri", "by-secret", "by-qr", "made"])
    await call(plain, "GET", `/v1/totp/code/${name}?enroll=true&reason=log-test`, { token: root });

  // Tokens, a person with a password and a second factor, a browser session.
  const created = await call(plain, "POST", "/v1/auth/token/create", {
    token: root,
    body: { policies: ["totp-reader"] },
  });
  keepToken("a created token", created.json.auth.client_token);
  await call(plain, "PUT", "/v1/auth/userpass/users/erin", { token: root, body: { password: PASSWORD } });
  const first = await call(plain, "POST", "/v1/auth/userpass/login/erin", { body: { password: PASSWORD } });
  keepToken("a login token", first.json.auth.client_token);
  const enrolled = await call(plain, "POST", "/v1/auth/userpass/mfa", {
    token: first.json.auth.client_token,
    body: {},
  });
  const factor = seedOfUrl(enrolled.json.data.url);
  secrets.push(binarySecret("a person's second-factor seed", factor));
  await call(plain, "POST", "/v1/auth/userpass/mfa/confirm", {
    token: first.json.auth.client_token,
    body: { code: codeNow(factor) },
  });
  const second = await call(plain, "POST", "/v1/auth/userpass/login/erin", {
    body: { password: PASSWORD, totp: codeNow(factor, 30) },
  });
  keepToken("a login token with a second factor", second.json.auth.client_token);
  const session = await call(plain, "POST", "/v1/ui/session", {
    body: { token: root },
    headers: { "content-type": "application/json" },
  });
  keepToken(
    "a session token",
    (session.headers.get("set-cookie") ?? "").match(/bg_session=([^;]+)/)?.[1] as string,
  );
  keep("a CSRF token", session.json.data.csrf_token);

  // A sign-in with an OpenID provider: its client secret, the state and code the browser carries,
  // the provider's tokens (seen as they leave its token endpoint), the login token, a renewal.
  idp = await startTestProvider({
    redirectUris: [OIDC_REDIRECT],
    people: { "sub-erin": { username: "erin", password: "erin-at-the-provider" } },
  });
  keep("the provider's client secret", idp.clientSecret);
  await call(plain, "PUT", "/v1/auth/userpass/users/erin", { token: root, body: { sso: true } }); // she exists already
  idp.alterTokens(async (body) => {
    for (const name of ["id_token", "access_token", "refresh_token"] as const)
      if (typeof body[name] === "string") keep(`the provider's ${name}`, body[name] as string);
    return body;
  });
  await call(plain, "PUT", "/v1/auth/oidc/config", {
    token: root,
    body: {
      oidc_discovery_url: idp.issuer,
      oidc_client_id: idp.clientId,
      oidc_client_secret: idp.clientSecret,
    },
  });
  await call(plain, "PUT", "/v1/auth/oidc/role/staff", {
    token: root,
    body: {
      user_claim: "preferred_username",
      allowed_redirect_uris: [OIDC_REDIRECT],
      oidc_scopes: ["profile", "offline_access"],
    },
  });
  const clientNonce = randomBytes(20).toString("base64url");
  keep("a sign-in's client_nonce", clientNonce);
  const started = await call(plain, "POST", "/v1/auth/oidc/oidc/auth_url", {
    body: { role: "staff", redirect_uri: OIDC_REDIRECT, client_nonce: clientNonce },
  });
  const back = await signInAtProvider(started.json.data.auth_url, "erin", "erin-at-the-provider");
  for (const name of ["state", "code"]) keep(`a sign-in's ${name}`, back.searchParams.get(name) as string);
  back.searchParams.set("client_nonce", clientNonce);
  const signedIn = await call(plain, "GET", `/v1/auth/oidc/oidc/callback?${back.searchParams}`);
  keepToken("a token from a sign-in with the provider", signedIn.json.auth.client_token);
  await call(plain, "POST", "/v1/auth/token/renew-self", {
    token: signedIn.json.auth.client_token,
    body: {},
  });

  // Rekey, generate-root, seed export, backup.
  const rekeyed = await ceremony(
    plain,
    "/v1/sys/rekey/init",
    "/v1/sys/rekey/update",
    { secret_shares: 2, secret_threshold: 2 },
    root,
    shares.slice(0, 2),
  );
  const newShares = rekeyed.last.json.keys as string[];
  keepShares("rekeyed share", newShares);
  const generatedRoot = await ceremony(
    plain,
    "/v1/sys/generate-root/attempt",
    "/v1/sys/generate-root/update",
    {},
    root,
    newShares,
  );
  const otp = generatedRoot.started.json.otp as string;
  keep("the one-time pad", otp);
  const encoded = Buffer.from(generatedRoot.last.json.encoded_token, "base64");
  keepToken(
    "the generated root token",
    Buffer.from(encoded.map((byte, i) => byte ^ otp.charCodeAt(i))).toString(),
  );
  await ceremony(
    plain,
    "/v1/sys/export-seed/attempt",
    "/v1/sys/export-seed/update",
    { name: "by-uri", pgp_key: custodians[0]?.armoredPublicKey },
    root,
    newShares,
  );
  await call(plain, "GET", "/v1/sys/backup", { token: root });
  await waitFor(
    "mail, webhook deliveries and a failing sink",
    () => smtp.mails.length > 0 && hook.requests.length > 2 && FAILING_SINK.test(plain.log()),
  );

  // Init with PGP keys (shares and the root token encrypted), unsealed with the decrypted shares.
  const pgpInit = await call(withPgp, "PUT", "/v1/sys/init", {
    body: {
      secret_shares: 2,
      secret_threshold: 2,
      pgp_keys: custodians.map((custodian) => custodian.armoredPublicKey),
      root_token_pgp_key: custodians[0]?.armoredPublicKey,
    },
  });
  const decrypted = (pgpInit.json.keys_base64 as string[]).map(
    (share, i) => custodians[i]?.decrypt(Buffer.from(share, "base64")) as string,
  );
  keepShares("PGP init share", decrypted);
  keepToken(
    "the PGP-encrypted root token",
    custodians[0]?.decrypt(Buffer.from(pgpInit.json.root_token, "base64")) as string,
  );
  for (const key of decrypted) await call(withPgp, "PUT", "/v1/sys/unseal", { body: { key } });
});
afterAll(async () => {
  await idp?.close();
  await plain?.close();
  await withPgp?.close();
  await hook?.close();
  await smtp?.close();
  for (const custodian of custodians ?? []) custodian.dispose();
});

describe("the server log at trace level, through every flow that handles a secret", () => {
  it("logs at trace level, a line for every request and the channels' work", () => {
    expect(plain.server.app.log.level).toBe("trace");
    expect(plain.log().match(/"msg":"request completed"/g)?.length ?? 0).toBeGreaterThanOrEqual(calls - 10);
    expect(plain.log()).toMatch(FAILING_SINK);
    expect(secrets.length).toBeGreaterThan(30);
  });

  it("holds none of the secrets, in any encoding", () => {
    const places = [
      { where: "the plain server's log", content: plain.log() },
      { where: "the PGP server's log", content: withPgp.log() },
    ];
    expect(findLeaks(secrets, places)).toEqual([]);
  });
});

describe("the logger's redaction", () => {
  it("censors every header and field a secret travels under, should one ever be logged", () => {
    const lines: string[] = [];
    const log = pino(
      logOptions("trace"),
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const secret = "s3cr3t-value";
    const headers = Object.fromEntries(
      [
        "authorization",
        "x-vault-token",
        "cookie",
        "set-cookie",
        "x-breakglass-csrf",
        "x-breakglass-signature",
      ].map((h) => [h, secret]),
    );
    const fields = Object.fromEntries(
      [
        "password",
        "secret",
        "token",
        "client_token",
        "root_token",
        "csrf_token",
        "encoded_token",
        "otp",
        "key",
        "keys",
        "keys_base64",
        "share",
        "seed",
        "totp",
      ].map((f) => [f, secret]),
    );
    log.trace({ req: { headers }, res: { headers }, body: fields, ...fields }, "everything at once");
    expect(lines.join("")).toContain("everything at once");
    expect(lines.join("")).not.toContain(secret);
  });
});
