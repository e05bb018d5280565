import { randomBytes } from "node:crypto";
import { hash } from "@node-rs/argon2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedAad } from "../../src/services/totp/totp.js";
import { sleep } from "../support/receivers.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";
import {
  migrateStorageUpTo,
  newTestStorage,
  openRawDatabase,
  type RawDatabase,
  type TestStorage,
} from "../support/storage.js";
import { oathtoolCode } from "../support/tools.js";

/**
 * Upgrading a vault whose people enrolled their second factors as TOTP engine keys
 * (userpass-mfa.NAME, before migration 0010-second-factors). The old state is built honestly: the
 * migrations up to 0008 on a fresh database, then the rows the old code wrote, sealed as it sealed
 * them (associated data totp_keys/userpass-mfa.NAME/vN) under a real vault's keyring.
 */

const TOTP = { algorithm: "SHA1", digits: 6, period: 30 };
const PASSWORD = "a long password from before the upgrade";
const seeds = {
  /** dave's factor, enabled. */
  dave: randomBytes(20),
  /** erin's, enrolled but not yet confirmed. */
  erin: randomBytes(20),
  /** A factor left behind when its person was deleted (the old deletion kept it). */
  gone: randomBytes(20),
  /** An ordinary credential. */
  "aws-root": randomBytes(20),
};
const codeOf = (seed: Buffer, offset = 0) =>
  oathtoolCode(seed.toString("hex"), { ...TOTP, unixSeconds: Math.floor(Date.now() / 1000) + offset });
const stepNow = () => Math.floor(Date.now() / 1000 / 30);

let upgraded: TestServer;
let storage: TestStorage;
let root: string;
let shares: string[];
const keyCreatedAt = "2026-01-02T03:04:05.000Z";

/** The old code's rows: the person and, for a second factor, a TOTP key named userpass-mfa.NAME. */
async function insertAsTheOldCode(db: RawDatabase, donor: TestServer): Promise<void> {
  const passwordHash = await hash(PASSWORD);
  for (const [username, mfaState] of [
    ["dave", "enabled"],
    ["erin", "pending"],
    ["hal", "none"],
  ])
    await db.run(
      `insert into users (username, password_hash, policies, display_name, email, created_at, updated_at,
        mfa_state, require_mfa) values (?, ?, '[]', ?, '', ?, ?, ?, 1)`,
      [username, passwordHash, username, keyCreatedAt, keyCreatedAt, mfaState],
    );
  const keys: [string, Buffer, number | null][] = [
    ["userpass-mfa.dave", seeds.dave, stepNow()], // logged in during this step
    ["userpass-mfa.erin", seeds.erin, null],
    ["userpass-mfa.gone", seeds.gone, 17],
    ["aws-root", seeds["aws-root"], null],
  ];
  for (const [name, seed, lastAcceptedStep] of keys) {
    const { ciphertext, keyVersion } = donor.server.services.seal.box.sealSecret(seed, seedAad(name));
    await db.run(
      `insert into totp_keys (name, issuer, account_name, algorithm, digits, period, skew, seed_ciphertext,
        key_version, generated, created_at, created_by, last_accepted_step)
        values (?, ?, ?, 'SHA1', 6, 30, 1, ?, ?, ?, ?, ?, ?)`,
      [
        name,
        name.startsWith("userpass-mfa.") ? "breakglass" : "AWS",
        name.replace("userpass-mfa.", ""),
        ciphertext.toString("base64"),
        keyVersion,
        name.startsWith("userpass-mfa.") ? 1 : 0,
        keyCreatedAt,
        "token:old",
        lastAcceptedStep,
      ],
    );
  }
}

/** What the old database takes of a real vault's: its seal configuration (keyring) and root token, as of 0008. */
const DONATED = {
  seal_config:
    "id, secret_shares, secret_threshold, keyring, pgp_fingerprints, cluster_id, created_at, audit_public_key",
  tokens:
    "token_hmac, accessor, display_name, policies, meta, parent_accessor, created_at, expires_at, username",
};

beforeAll(async () => {
  // A real vault's keyring and root token, from an init; the donor's shares unseal the old database.
  const donor = await startTestServer();
  ({ keys: shares, rootToken: root } = await initAndUnseal(donor));
  storage = await newTestStorage();
  await migrateStorageUpTo(storage, "0008-devices");
  const from = await openRawDatabase(donor.storage);
  const db = await openRawDatabase(storage);
  try {
    for (const [table, columns] of Object.entries(DONATED))
      for (const row of await from.rows(`select ${columns} from ${table}`)) {
        const values = Object.values(row);
        await db.run(
          `insert into ${table} (${columns}) values (${values.map(() => "?").join(", ")})`,
          values,
        );
      }
    await insertAsTheOldCode(db, donor);
  } finally {
    await from.close();
    await db.close();
  }
  await donor.close();

  upgraded = await startTestServer({ storage });
  for (const key of shares.slice(0, 2)) await upgraded.call("PUT", "/v1/sys/unseal", { body: { key } });
  await reencryptionDone();
});
afterAll(async () => {
  await upgraded?.close();
});

async function rows(query: string): Promise<Record<string, unknown>[]> {
  const db = await openRawDatabase(storage);
  try {
    return await db.rows(query);
  } finally {
    await db.close();
  }
}

/** The pass the unseal starts has re-sealed every moved factor as its own row; bounded. */
async function reencryptionDone(): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await upgraded.call("GET", "/v1/sys/key-status", { token: root })).json;
    const old = await rows("select username from second_factors where sealed_as <> 'second_factors'");
    if (!status.reencryption_running && old.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still sealed as TOTP keys: ${JSON.stringify(old)}`);
    await sleep(100);
  }
}

const login = (username: string, body: Record<string, string> = {}) =>
  upgraded.call("POST", `/v1/auth/userpass/login/${username}`, { body: { password: PASSWORD, ...body } });

describe("upgrading a vault whose second factors were TOTP keys (migration 0010-second-factors)", () => {
  it("leaves only credentials in the TOTP engine: no token lists, reads or validates a second factor there", async () => {
    expect((await upgraded.call("GET", "/v1/totp/keys?list=true", { token: root })).json.data.keys).toEqual([
      "aws-root",
    ]);
    expect((await upgraded.call("GET", "/v1/totp/keys/userpass-mfa.dave", { token: root })).status).toBe(404);
    const validated = await upgraded.call("POST", "/v1/totp/code/userpass-mfa.dave", {
      token: root,
      body: { code: codeOf(seeds.dave, 30) },
    });
    expect(validated.status).toBe(400);
    const read = await upgraded.call("GET", "/v1/totp/code/aws-root", { token: root });
    expect(read.json.data.code).toBe(
      oathtoolCode(seeds["aws-root"].toString("hex"), { ...TOTP, unixSeconds: read.json.data.valid_from }),
    );
  });

  it("moves each factor of a person enrolling or enrolled, as it was, and drops the ones of nobody", async () => {
    const moved = await rows(
      "select username, state, sealed_as, algorithm, digits, period, skew, last_accepted_step, created_at, enabled_at from second_factors order by username",
    );
    const common = { algorithm: "SHA1", digits: 6, period: 30, skew: 1, created_at: keyCreatedAt };
    expect(moved).toEqual([
      expect.objectContaining({ username: "dave", state: "enabled", enabled_at: null, ...common }),
      expect.objectContaining({ username: "erin", state: "pending", last_accepted_step: null, ...common }),
    ]);
    expect(Number(moved[0]?.last_accepted_step)).toBeGreaterThan(0);
    expect(await rows("select name from totp_keys")).toEqual([{ name: "aws-root" }]);
    const states = await rows("select username, mfa_state from users order by username");
    expect(states).toEqual([
      { username: "dave", mfa_state: "enabled" },
      { username: "erin", mfa_state: "pending" },
      { username: "hal", mfa_state: "none" },
    ]);
  });

  it("re-seals each moved factor as its own row at the first unseal, on the audit chain", async () => {
    const entries = (await upgraded.call("GET", "/v1/audit?action=sys.rotate.reencrypted", { token: root }))
      .json.data.entries;
    expect(entries).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ second_factor_seed: 2, totp_seed: 0 }) }),
    ]);
    const [dave] = await rows(
      "select seed_ciphertext, key_version from second_factors where username = 'dave'",
    );
    const version = Number(dave?.key_version);
    const opened = upgraded.server.services.seal.box.openSecret(
      Buffer.from(String(dave?.seed_ciphertext), "base64"),
      version,
      `second_factors/dave/v${version}`,
    );
    expect(opened).toEqual(seeds.dave);
  });

  it("lets a person enrolled before the upgrade log in with their code, and not without it", async () => {
    const withoutCode = await login("dave");
    expect(withoutCode.status).toBe(400);
    expect(withoutCode.json.errors).toEqual(["invalid username or password"]);
    expect((await login("dave", { totp: codeOf(seeds.dave, -30) })).status).toBe(400); // older than the last accepted
    const withCode = await login("dave", { totp: codeOf(seeds.dave, 30) });
    expect(withCode.status).toBe(200);
  });

  it("lets a person who was enrolling confirm with their code, then log in with it", async () => {
    const token = (await login("erin")).json.auth.client_token;
    const confirmed = await upgraded.call("POST", "/v1/auth/userpass/mfa/confirm", {
      token,
      body: { code: codeOf(seeds.erin) },
    });
    expect(confirmed.status).toBe(204);
    expect((await upgraded.call("GET", "/v1/auth/userpass/users/erin", { token: root })).json.data.mfa).toBe(
      "enabled",
    );
    expect((await login("erin", { totp: codeOf(seeds.erin, 30) })).status).toBe(200);
  });

  it("opens a factor still sealed as its old key at login (the pass not yet run), and re-seals it at the next unseal", async () => {
    // As the migration leaves a row, for a login that comes before the re-encryption pass.
    const hal = randomBytes(20);
    const { ciphertext, keyVersion } = upgraded.server.services.seal.box.sealSecret(
      hal,
      seedAad("userpass-mfa.hal"),
    );
    const db = await openRawDatabase(storage);
    try {
      await db.run("update users set mfa_state = 'enabled' where username = 'hal'");
      await db.run(
        `insert into second_factors (username, seed_ciphertext, key_version, sealed_as, algorithm, digits, period,
          skew, state, last_accepted_step, created_at, enabled_at)
          values ('hal', ?, ?, 'totp_keys', 'SHA1', 6, 30, 1, 'enabled', null, ?, null)`,
        [ciphertext.toString("base64"), keyVersion, keyCreatedAt],
      );
    } finally {
      await db.close();
    }
    expect((await login("hal", { totp: codeOf(hal) })).status).toBe(200);
    expect((await upgraded.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
    for (const key of shares.slice(1, 3)) await upgraded.call("PUT", "/v1/sys/unseal", { body: { key } });
    await reencryptionDone();
    expect(await rows("select sealed_as from second_factors where username = 'hal'")).toEqual([
      { sealed_as: "second_factors" },
    ]);
    expect((await login("hal", { totp: codeOf(hal, 30) })).status).toBe(200);
  });
});
