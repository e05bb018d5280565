import { randomBytes } from "node:crypto";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import { openRawDatabase } from "../support/storage.js";
import { makeGpgKey, oathtoolCode } from "../support/tools.js";

/**
 * A person's own second factor: enrolled once, confirmed with a code, then asked for at every
 * login. It lives in a table of its own that only enrolment, login, an admin's reset and the
 * person's deletion reach: nothing under /v1/totp sees it, whatever the token.
 */

let t: TestServer;
let root: string;
let totpAdmin: string;
const passwords = {
  dave: "dave has a long password",
  frank: "frank has a long password",
  gina: "gina has a long password",
};
type Person = keyof typeof passwords;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
  await t.call("POST", "/v1/totp/keys/aws-prod-root", {
    token: root,
    body: { key: encodeBase32Upper(randomBytes(20)) },
  });
  for (const [name, password] of Object.entries(passwords))
    await t.call("PUT", `/v1/auth/userpass/users/${name}`, {
      token: root,
      body: { password, require_mfa: name === "dave" },
    });
  await t.call("PUT", "/v1/groups/oncall", {
    token: root,
    body: { members: ["dave"], policies: ["totp-reader"] },
  });
  const created = await t.call("POST", "/v1/auth/token/create", {
    token: root,
    body: { policies: ["totp-admin"] },
  });
  totpAdmin = created.json.auth.client_token;
});
afterAll(async () => {
  await t.close();
});

const login = (who: Person, body: Record<string, string> = {}) =>
  t.call("POST", `/v1/auth/userpass/login/${who}`, { body: { password: passwords[who], ...body } });

/** The code of `seed` at now + `offset` seconds, by oathtool. */
const codeOf = (seed: Uint8Array, offset = 0) =>
  oathtoolCode(Buffer.from(seed).toString("hex"), {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000) + offset,
  });

const seedOfEnrolment = (url: string) =>
  Buffer.from(OTPAuth.Secret.fromBase32(new URL(url).searchParams.get("secret") as string).bytes);

/** Enrols and confirms `who`'s second factor with this step's code; returns its seed. */
async function enable(who: Person): Promise<Buffer> {
  const token = (await login(who)).json.auth.client_token;
  const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} });
  expect(enrolment.status).toBe(200);
  const seed = seedOfEnrolment(enrolment.json.data.url);
  const confirmed = await t.call("POST", "/v1/auth/userpass/mfa/confirm", {
    token,
    body: { code: codeOf(seed) },
  });
  expect(confirmed.status).toBe(204);
  return seed;
}

async function storedFactor(who: string): Promise<Record<string, unknown> | undefined> {
  const db = await openRawDatabase(t.storage);
  try {
    return (await db.rows("select * from second_factors where username = ?", [who]))[0];
  } finally {
    await db.close();
  }
}

describe("a second factor required by an admin", () => {
  let seed: Buffer;
  let daveToken: string;

  it("until enabled, a login can enrol one and do nothing else", async () => {
    const token = (await login("dave")).json.auth.client_token;
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token })).status).toBe(403);
    expect((await t.call("GET", "/v1/auth/token/lookup-self", { token })).json.data.policies).toEqual([
      "mfa-enrolment",
    ]);
    const enrolment = await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} });
    expect(enrolment.status).toBe(200);
    expect(enrolment.json.data.url).toMatch(/^otpauth:\/\/totp\/breakglass:dave\?/);
    seed = seedOfEnrolment(enrolment.json.data.url);
    expect(
      (await t.call("POST", "/v1/auth/userpass/mfa/confirm", { token, body: { code: "000000" } })).status,
    ).toBe(400);
    expect(
      (await t.call("POST", "/v1/auth/userpass/mfa/confirm", { token, body: { code: codeOf(seed) } })).status,
    ).toBe(204);
    expect((await t.call("GET", "/v1/auth/userpass/users/dave", { token: root })).json.data).toMatchObject({
      mfa: "enabled",
      require_mfa: true,
    });
  });

  it("then every login needs its current code, each code once, with the same answer as a wrong password", async () => {
    const noCode = await login("dave");
    expect(noCode.status).toBe(400);
    expect(noCode.json.errors).toEqual(["invalid username or password"]);
    // The confirmation used this step's code; the next step's is within the skew.
    const next = codeOf(seed, 30);
    const withCode = await login("dave", { totp: next });
    expect(withCode.status).toBe(200);
    expect(withCode.json.auth.policies).toEqual(["totp-reader", "default"]);
    daveToken = withCode.json.auth.client_token;
    expect((await t.call("GET", "/v1/totp/code/aws-prod-root", { token: daveToken })).status).toBe(200);
    expect((await login("dave", { totp: next })).status).toBe(400); // the same code twice
  });

  it("once enabled, enrolling again is refused until an admin resets it (409)", async () => {
    const again = await t.call("POST", "/v1/auth/userpass/mfa", { token: daveToken, body: {} });
    expect(again.status).toBe(409);
    expect(again.json.errors).toEqual(["a second factor is already enabled; an admin can reset it"]);
  });

  it("nobody reads a person's second factor, not even root", async () => {
    const response = await t.call("GET", "/v1/totp/code/userpass-mfa.dave", { token: root });
    expect(response.status).toBe(400);
    expect(response.json).toEqual({ errors: ["unknown key: userpass-mfa.dave"], code: "BAD_INPUT" });
  });

  it("is kept in a table of its own, sealed as that person's row: it opens with no other associated data", async () => {
    const row = await storedFactor("dave");
    expect(row).toMatchObject({ state: "enabled", sealed_as: "second_factors", algorithm: "SHA1" });
    const ciphertext = Buffer.from(String(row?.seed_ciphertext), "base64");
    const version = Number(row?.key_version);
    const { seal } = t.server.services;
    expect(seal.box.openSecret(ciphertext, version, `second_factors/dave/v${version}`)).toEqual(seed);
    for (const aad of [`totp_keys/userpass-mfa.dave/v${version}`, `second_factors/frank/v${version}`])
      expect(() => seal.box.openSecret(ciphertext, version, aad)).toThrow();
  });
});

let frankSeed: Buffer;

describe("a totp-admin token, against a person's second factor", () => {
  beforeAll(async () => {
    frankSeed = await enable("frank");
  });

  it("cannot list it or read it: it is no key of the TOTP engine", async () => {
    for (const token of [totpAdmin, root]) {
      const listed = await t.call("GET", "/v1/totp/keys?list=true", { token });
      expect(listed.json.data.keys).toEqual(["aws-prod-root"]);
      const read = await t.call("GET", "/v1/totp/keys/userpass-mfa.frank", { token });
      expect(read.status).toBe(404);
    }
  });

  it("cannot validate codes against it (which would also use them up)", async () => {
    const validated = await t.call("POST", "/v1/totp/code/userpass-mfa.frank", {
      token: totpAdmin,
      body: { code: codeOf(frankSeed, 30) },
    });
    expect(validated.status).toBe(400);
    expect(validated.json).toEqual({ errors: ["unknown key: userpass-mfa.frank"], code: "BAD_INPUT" });
  });

  it("and no quorum can export its seed: there is no such key", async () => {
    const custodian = makeGpgKey("export");
    const started = await t.call("PUT", "/v1/sys/export-seed/attempt", {
      token: root,
      body: { name: "userpass-mfa.frank", pgp_key: custodian.armoredPublicKey },
    });
    expect(started.status).toBe(404);
    expect(started.json).toEqual({ errors: ["no key named userpass-mfa.frank"], code: "NOT_FOUND" });
  });

  it("cannot delete or replace it: a key it makes under that name lets nobody log in as the person", async () => {
    await t.call("DELETE", "/v1/totp/keys/userpass-mfa.frank", { token: totpAdmin });
    const attackerSeed = randomBytes(20);
    const planted = await t.call("POST", "/v1/totp/keys/userpass-mfa.frank", {
      token: totpAdmin,
      body: { key: encodeBase32Upper(attackerSeed) },
    });
    expect(planted.status).toBe(204); // an ordinary credential that happens to have this name
    const asAttacker = await login("frank", { totp: codeOf(attackerSeed) });
    expect(asAttacker.status).toBe(400);
    expect(asAttacker.json.errors).toEqual(["invalid username or password"]);
    expect((await login("frank", { totp: codeOf(frankSeed, 30) })).status).toBe(200);
    expect(await storedFactor("frank")).toMatchObject({ state: "enabled" });
  });
});

describe("an admin's reset", () => {
  let seed: Buffer;

  beforeAll(async () => {
    seed = await enable("gina");
  });

  it("is refused to anyone but admins (403), and changes nothing", async () => {
    const own = (await login("gina", { totp: codeOf(seed, 30) })).json.auth.client_token;
    for (const token of [own, totpAdmin, undefined]) {
      const refused = await t.call("DELETE", "/v1/auth/userpass/users/gina/mfa", { token });
      expect(refused.status).toBe(403);
    }
    expect(await storedFactor("gina")).toMatchObject({ state: "enabled" });
  });

  it("removes the factor: the person logs in with the password alone, and may enrol a new one", async () => {
    const reset = await t.call("DELETE", "/v1/auth/userpass/users/gina/mfa", { token: root });
    expect(reset.status).toBe(204);
    expect(await storedFactor("gina")).toBeUndefined();
    expect((await t.call("GET", "/v1/auth/userpass/users/gina", { token: root })).json.data.mfa).toBe("none");
    const entries = (
      await t.call("GET", "/v1/audit?action=people.mfa.reset&outcome=allowed", { token: root })
    ).json.data.entries;
    expect(entries).toEqual([
      expect.objectContaining({ target: "user:gina", outcome: "allowed", details: { was: "enabled" } }),
    ]);
    const token = (await login("gina")).json.auth.client_token;
    expect((await t.call("POST", "/v1/auth/userpass/mfa", { token, body: {} })).status).toBe(200);
    expect(await storedFactor("gina")).toMatchObject({ state: "pending" });
  });

  it("of someone unknown is a 404", async () => {
    const missing = await t.call("DELETE", "/v1/auth/userpass/users/nobody/mfa", { token: root });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ errors: ["no user named nobody"], code: "NOT_FOUND" });
  });
});

describe("a second factor's sealed seed copied into another person's row, in the database", () => {
  it("opens for nobody: the login is refused as a wrong code, and the problem is on the audit chain", async () => {
    const frank = await storedFactor("frank");
    const db = await openRawDatabase(t.storage);
    try {
      await db.run("update second_factors set seed_ciphertext = ?, key_version = ? where username = 'dave'", [
        frank?.seed_ciphertext,
        frank?.key_version,
      ]);
    } finally {
      await db.close();
    }
    // frank's code, at a step neither factor has used yet.
    const refused = await login("dave", { totp: codeOf(frankSeed, 30) });
    expect(refused.status).toBe(400);
    expect(refused.json.errors).toEqual(["invalid username or password"]);
    const checks = (
      await t.call("GET", "/v1/audit?action=people.mfa.check&target=user:dave", { token: root })
    ).json.data.entries;
    expect(checks.at(-1)).toMatchObject({
      outcome: "denied",
      details: { problem: "the stored second factor does not open" },
    });
  });
});

describe("deleting a person", () => {
  it("deletes their second factor with them: the same name made again has none", async () => {
    expect(await storedFactor("dave")).toBeDefined();
    expect((await t.call("DELETE", "/v1/auth/userpass/users/dave", { token: root })).status).toBe(204);
    expect(await storedFactor("dave")).toBeUndefined();
    await t.call("PUT", "/v1/auth/userpass/users/dave", { token: root, body: { password: passwords.dave } });
    expect((await t.call("GET", "/v1/auth/userpass/users/dave", { token: root })).json.data.mfa).toBe("none");
    expect((await login("dave")).status).toBe(200);
  });
});
