import { randomBytes } from "node:crypto";
import { inflateRawSync, inflateSync } from "node:zlib";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, verifyChain } from "../../src/core/audit-chain.js";
import { parsePublicKey } from "../../src/core/audit-checkpoint.js";
import { readBackup } from "../../src/core/backup-file.js";
import { Cli } from "../e2e/cli-harness.js";
import { encodeBase32Upper, findSeedLeaks } from "../support/encodings.js";
import { type ApiResponse, callApi, startTestServer, type TestServer } from "../support/server.js";
import { newTestStorage, openRawDatabase, TEST_ENGINE } from "../support/storage.js";
import { oathtoolCode, tempDir, writeFile } from "../support/tools.js";

/**
 * A backup holds everything, encrypted and signed; restored into a fresh server it opens only
 * with a quorum of the backup's shares, and then everything works as before: codes, tokens,
 * people, and the audit chain, which carries on from where the backup left it.
 */

const credentials = [
  { name: "aws-prod-root", seed: randomBytes(20), algorithm: "SHA1", digits: 6, period: 30 },
  { name: "registrar-admin", seed: randomBytes(32), algorithm: "SHA256", digits: 8, period: 30 },
  { name: "idp-superadmin", seed: randomBytes(64), algorithm: "SHA512", digits: 6, period: 60 },
];
const custodians = [
  "Ada Lovelace",
  "Brian Kernighan",
  "Chen Ning Yang",
  "Dorothy Vaughan",
  "Edsger Dijkstra",
];
const people = { "alice-oncall": "alice has a long password", "bob-security": "bob has a long password" };
const secretNames = [
  ...credentials.map((c) => c.name),
  ...Object.keys(people),
  ...custodians,
  "treasury-account",
  "oncall-pagers",
  "ci-reader-token",
];

let source: TestServer;
let shares: string[];
let root: string;
let readerToken: string;
let backup: Buffer;
let publicKeyPem: string;
/** bob-security's own second factor, enrolled before the backup. */
let secondFactorSeed: Buffer;
const started: TestServer[] = [];

const codeOf = (seed: Buffer, offset = 0) =>
  oathtoolCode(seed.toString("hex"), {
    algorithm: "SHA1",
    digits: 6,
    period: 30,
    unixSeconds: Math.floor(Date.now() / 1000) + offset,
  });

async function freshServer(storage?: Awaited<ReturnType<typeof newTestStorage>>): Promise<TestServer> {
  const server = await startTestServer(storage ? { storage } : {});
  started.push(server);
  return server;
}

async function downloadBackup(server: TestServer, token?: string): Promise<Response> {
  return fetch(`${server.server.url}/v1/sys/backup`, { headers: token ? { "X-Vault-Token": token } : {} });
}

async function restore(server: TestServer, file: Buffer): Promise<ApiResponse> {
  const response = await fetch(`${server.server.url}/v1/sys/restore`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: new Blob([new Uint8Array(file)]),
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text), headers: response.headers };
}

async function unseal(server: TestServer, keys: string[]): Promise<ApiResponse> {
  let last = { status: 0 } as ApiResponse;
  for (const key of keys) last = await server.call("PUT", "/v1/sys/unseal", { body: { key } });
  return last;
}

async function auditExport(server: TestServer): Promise<AuditEntry[]> {
  const text = await (
    await fetch(`${server.server.url}/v1/audit/export`, { headers: { "X-Vault-Token": root } })
  ).text();
  return text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}

beforeAll(async () => {
  source = await freshServer();
  const init = await source.call("PUT", "/v1/sys/init", {
    body: { secret_shares: 5, secret_threshold: 3, custodians },
  });
  expect(init.status).toBe(200);
  shares = init.json.keys;
  root = init.json.root_token;
  expect((await unseal(source, shares.slice(0, 3))).json.sealed).toBe(false);
  const as = { token: root };
  for (const { name, seed, algorithm, digits, period } of credentials) {
    const created = await source.call("POST", `/v1/totp/keys/${name}`, {
      ...as,
      body: {
        key: encodeBase32Upper(seed),
        issuer: "ACME",
        account_name: "treasury-account",
        algorithm,
        digits,
        period,
      },
    });
    expect(created.status).toBe(204);
  }
  for (const [username, password] of Object.entries(people))
    await source.call("PUT", `/v1/auth/userpass/users/${username}`, { ...as, body: { password } });
  await source.call("PUT", "/v1/groups/oncall-pagers", { ...as, body: { members: ["alice-oncall"] } });
  const bob = (
    await source.call("POST", "/v1/auth/userpass/login/bob-security", {
      body: { password: people["bob-security"] },
    })
  ).json.auth.client_token;
  const enrolment = await source.call("POST", "/v1/auth/userpass/mfa", { token: bob, body: {} });
  const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
  secondFactorSeed = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes);
  const confirmed = await source.call("POST", "/v1/auth/userpass/mfa/confirm", {
    token: bob,
    body: { code: codeOf(secondFactorSeed) },
  });
  expect(confirmed.status).toBe(204);
  const rule = await source.call("PUT", "/v1/totp/access/aws-prod-root", {
    ...as,
    body: { readers: ["group:oncall-pagers"], approvers: ["user:bob-security"], approvals_required: 0 },
  });
  expect(rule.status).toBe(200);
  const token = await source.call("POST", "/v1/auth/token/create", {
    ...as,
    body: { policies: ["totp-reader"], display_name: "ci-reader-token" },
  });
  readerToken = token.json.auth.client_token;
  expect((await source.call("GET", "/v1/totp/code/registrar-admin", { token: readerToken })).status).toBe(
    200,
  );
  publicKeyPem = (await source.call("GET", "/v1/audit/public-key")).json.data.public_key_pem;

  const response = await downloadBackup(source, root);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/octet-stream");
  expect(response.headers.get("content-disposition")).toMatch(
    /^attachment; filename="breakglass-[0-9a-f-]{36}-\d{8}T\d{6}\.\d{3}Z\.bgbackup"$/,
  );
  backup = Buffer.from(await response.arrayBuffer());
});
afterAll(async () => {
  for (const server of started) await server.close();
});

describe("a backup", () => {
  it("is signed by the vault's audit key and announces what it holds", async () => {
    const summary = await readBackup([backup], { expectedPublicKey: publicKeyPem });
    expect(summary.header).toMatchObject({ secret_shares: 5, secret_threshold: 3 });
    expect(summary.header.counts).toMatchObject({
      totp_keys: 3,
      users: 2,
      second_factors: 1,
      groups: 1,
      access_rules: 1,
      custodians: 5,
    });
    expect(summary.header.counts.audit_entries).toBeGreaterThan(10);
  });

  it("holds no seed in any encoding, and no name of a credential, person or custodian in clear", async () => {
    const places: { where: string; content: Buffer }[] = [{ where: "the file", content: backup }];
    let header = "";
    await readBackup([backup], {
      onHeader: (parsed) => {
        header = JSON.stringify(parsed);
      },
      onChunk: (index, payload) => {
        // Encrypted chunks do not inflate; if one ever did, its content is searched too.
        for (const inflate of [inflateSync, inflateRawSync])
          try {
            places.push({ where: `chunk ${index} inflated`, content: inflate(payload) });
          } catch {}
      },
    });
    places.push({ where: "the header", content: Buffer.from(header) });
    for (const inflate of [inflateSync, inflateRawSync])
      try {
        places.push({ where: "the file inflated", content: inflate(backup) });
      } catch {}
    expect(findSeedLeaks([...credentials.map((c) => c.seed), secondFactorSeed], places)).toEqual([]);
    const clear = secretNames.filter((name) =>
      places.some(
        ({ content }) =>
          content.includes(Buffer.from(name)) || content.includes(Buffer.from(name.toLowerCase())),
      ),
    );
    expect(clear).toEqual([]);
    // …while the file does hold them, encrypted: the restore below brings each one back.
  });

  it("needs a token with sys.backup (403 without one) and an unsealed vault (503)", async () => {
    const anonymous = await downloadBackup(source);
    expect(anonymous.status).toBe(403);
    const reader = await downloadBackup(source, readerToken);
    expect(reader.status).toBe(403);
    expect(await reader.json()).toEqual({ errors: ["permission denied"], code: "PERMISSION_DENIED" });
  });
});

describe("restoring a backup into a fresh server", () => {
  let target: TestServer;

  beforeAll(async () => {
    target = await freshServer();
  });

  it("leaves it initialised and sealed, with the backup's share counts, saying a restore waits for them", async () => {
    const restored = await restore(target, backup);
    expect(restored.status).toBe(200);
    expect(restored.json.data).toMatchObject({ secret_shares: 5, secret_threshold: 3 });
    expect(restored.json.data.rows).toMatchObject({ totp_keys: 3, users: 2, second_factors: 1 });
    const status = (await target.call("GET", "/v1/sys/seal-status")).json;
    expect(status).toMatchObject({
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      restore_pending: {
        backup_created_at: restored.json.data.created_at,
        message: "restore pending: unseal with the shares of the backup",
      },
      custody_warning: null, // the custodians come back with the backup; none to warn about yet
    });
    const cli = new Cli({ BREAKGLASS_ADDR: target.server.url });
    const shown = await cli.run(["status"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      `restore pending: unseal with the shares of the backup (made ${restored.json.data.created_at})`,
    );
    expect(shown.stdout).not.toMatch(/WARNING/);
    expect((await target.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(503);
  });

  it("refuses a second restore: the server is initialised now", async () => {
    const again = await restore(target, backup);
    expect(again.status).toBe(400);
    expect(again.json.errors).toEqual(["restore needs an uninitialised server: this one is initialised"]);
  });

  it("stays sealed with two of the original shares, and unseals with the third", async () => {
    const two = await unseal(target, [shares[4] as string, shares[1] as string]);
    expect(two.json).toMatchObject({ sealed: true, progress: 2 });
    const three = await unseal(target, [shares[3] as string]);
    expect(three.status).toBe(200);
    expect(three.json.sealed).toBe(false);
    expect((await target.call("GET", "/v1/sys/seal-status")).json.restore_pending).toBeUndefined();
  });

  it("serves oathtool's codes for the original seeds, to tokens made before the backup", async () => {
    for (const { name, seed, algorithm, digits, period } of credentials) {
      const response = await target.call("GET", `/v1/totp/code/${name}`, { token: root });
      expect(response.status).toBe(200);
      const { code, valid_from } = response.json.data;
      expect(code).toBe(
        oathtoolCode(seed.toString("hex"), { algorithm, digits, period, unixSeconds: valid_from }),
      );
    }
    const byReader = await target.call("GET", "/v1/totp/code/registrar-admin", { token: readerToken });
    expect(byReader.status).toBe(200);
  });

  it("brings back people, groups and access rules", async () => {
    const login = await target.call("POST", "/v1/auth/userpass/login/alice-oncall", {
      body: { password: people["alice-oncall"] },
    });
    expect(login.status).toBe(200);
    const alice = login.json.auth.client_token;
    expect((await target.call("GET", "/v1/totp/code/aws-prod-root", { token: alice })).status).toBe(200);
    expect((await target.call("GET", "/v1/totp/code/idp-superadmin", { token: alice })).status).toBe(403);
  });

  it("brings back a person's own second factor: they log in with its code, and not without it", async () => {
    const login = (body: Record<string, string>) =>
      target.call("POST", "/v1/auth/userpass/login/bob-security", {
        body: { password: people["bob-security"], ...body },
      });
    expect((await login({})).status).toBe(400);
    expect((await login({ totp: codeOf(secondFactorSeed, 30) })).status).toBe(200);
  });

  it("carries the audit chain on: the backup's entries, the unseal, the restore, all verified", async () => {
    const before = await auditExport(source);
    const after = await auditExport(target);
    const key = parsePublicKey(publicKeyPem);
    expect(verifyChain(after, key)).toMatchObject({ firstProblem: null, signaturesChecked: true });
    const backedUp = after.findIndex((entry) => entry.action === "sys.backup");
    expect(backedUp).toBeGreaterThan(0);
    // Everything up to the backup's own entry is the source's chain, byte for byte.
    expect(after.slice(0, backedUp + 1)).toEqual(before.slice(0, backedUp + 1));
    const since = after.slice(backedUp + 1).map((entry) => entry.action);
    expect(since.filter((action) => action === "sys.unseal")).toHaveLength(3);
    expect(since.indexOf("sys.restore")).toBeGreaterThan(since.indexOf("sys.unseal"));
    const restoreEntry = after.find((entry) => entry.action === "sys.restore");
    expect(restoreEntry?.details).toMatchObject({ rows_totp_keys: 3, rows_users: 2 });
  });
});

describe("a damaged backup", () => {
  it("is refused by restore with nothing left behind (the server stays uninitialised), and by backup verify", async () => {
    const damaged = Buffer.from(backup);
    const offset = Math.floor(damaged.length / 2);
    damaged.writeUInt8(damaged.readUInt8(offset) ^ 0x10, offset);
    const target = await freshServer();
    const refused = await restore(target, damaged);
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0]).toMatch(/^backup is damaged: /);
    expect((await target.call("GET", "/v1/sys/seal-status")).json).toMatchObject({ initialized: false });
    const db = await openRawDatabase(target.storage);
    try {
      expect(await db.rows("select seq from restore_chunks")).toEqual([]);
      expect(await db.rows("select id from seal_config")).toEqual([]);
    } finally {
      await db.close();
    }
    // The intact file still restores there afterwards.
    expect((await restore(target, backup)).status).toBe(200);

    const dir = tempDir();
    const cli = new Cli({});
    const verify = await cli.run(["backup", "verify", writeFile(dir, "damaged.bgbackup", damaged)]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(/^error: backup is damaged: .+\n$/);
    expect((await cli.run(["backup", "verify", writeFile(dir, "intact.bgbackup", backup)])).code).toBe(0);
  });

  it("an upload cut off before it could be cleaned up (a killed process) leaves chunks that a later init clears", async () => {
    const target = await freshServer();
    const db = await openRawDatabase(target.storage);
    try {
      await db.run("insert into restore_chunks (seq, data) values (1, 'left by an interrupted upload')");
      const init = await target.call("PUT", "/v1/sys/init", {
        body: { secret_shares: 1, secret_threshold: 1 },
      });
      expect(init.status).toBe(200);
      expect(await db.rows("select seq from restore_chunks")).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it("is refused when it is no backup at all, or empty, with a 400", async () => {
    const target = await freshServer();
    const json = await callApi(target.server.url, "POST", "/v1/sys/restore", { body: { secret_shares: 1 } });
    expect(json.status).toBe(400);
    expect(json.json.errors[0]).toMatch(/not a breakglass backup/);
    const empty = await restore(target, Buffer.alloc(0));
    expect(empty.status).toBe(400);
    expect((await target.call("GET", "/v1/sys/seal-status")).json.initialized).toBe(false);
  });
});

describe("a staged chunk changed in the database before the unseal", () => {
  it("fails the unseal with a 400, keeps the vault sealed and applies nothing", async () => {
    const target = await freshServer();
    expect((await restore(target, backup)).status).toBe(200);
    const db = await openRawDatabase(target.storage);
    try {
      const [staged] = await db.rows<{ data: string }>("select data from restore_chunks where seq = 0");
      const bytes = Buffer.from(staged?.data ?? "", "base64");
      bytes.writeUInt8(bytes.readUInt8(40) ^ 0x01, 40);
      await db.run("update restore_chunks set data = ? where seq = 0", [bytes.toString("base64")]);
      const refused = await unseal(target, shares.slice(0, 3));
      expect(refused.status).toBe(400);
      expect(refused.json.errors[0]).toMatch(/^backup chunk 0 does not open: it was changed/);
      expect((await target.call("GET", "/v1/sys/seal-status")).json).toMatchObject({
        sealed: true,
        progress: 0,
      });
      const [keys] = await db.rows<{ n: number | string }>("select count(*) as n from totp_keys");
      expect(Number(keys?.n)).toBe(0);
      const [config] = await db.rows<{ restore_pending: string | null }>(
        "select restore_pending from seal_config",
      );
      expect(config?.restore_pending).toEqual(expect.any(String));
    } finally {
      await db.close();
    }
  });
});

describe("restore into an initialised server", () => {
  it("is refused, and changes nothing", async () => {
    const refused = await restore(source, backup);
    expect(refused.status).toBe(400);
    expect(refused.json.errors).toEqual(["restore needs an uninitialised server: this one is initialised"]);
    expect((await source.call("GET", "/v1/totp/code/aws-prod-root", { token: root })).status).toBe(200);
  });
});

describe("across engines", () => {
  it.skipIf(TEST_ENGINE !== "postgres")(
    "a backup made on SQLite restores on PostgreSQL, and back",
    async () => {
      const sqlite = await freshServer(await newTestStorage("sqlite"));
      const init = await sqlite.call("PUT", "/v1/sys/init", {
        body: { secret_shares: 1, secret_threshold: 1 },
      });
      const [share] = init.json.keys as string[];
      await unseal(sqlite, [share as string]);
      const token = init.json.root_token;
      const seed = randomBytes(20);
      await sqlite.call("POST", "/v1/totp/keys/cross-engine", {
        token,
        body: { key: encodeBase32Upper(seed) },
      });
      const fromSqlite = Buffer.from(await (await downloadBackup(sqlite, token)).arrayBuffer());

      const postgres = await freshServer(await newTestStorage("postgres"));
      expect((await restore(postgres, fromSqlite)).status).toBe(200);
      expect((await unseal(postgres, [share as string])).json.sealed).toBe(false);
      const code = await postgres.call("GET", "/v1/totp/code/cross-engine", { token });
      expect(code.json.data.code).toBe(
        oathtoolCode(seed.toString("hex"), {
          algorithm: "SHA1",
          digits: 6,
          period: 30,
          unixSeconds: code.json.data.valid_from,
        }),
      );
      const fromPostgres = Buffer.from(await (await downloadBackup(postgres, token)).arrayBuffer());
      const back = await freshServer(await newTestStorage("sqlite"));
      expect((await restore(back, fromPostgres)).status).toBe(200);
      expect((await unseal(back, [share as string])).json.sealed).toBe(false);
      expect((await back.call("GET", "/v1/totp/code/cross-engine", { token })).status).toBe(200);
    },
  );
});

describe("while sealed", () => {
  it("GET /v1/sys/backup answers 503", async () => {
    expect((await source.call("PUT", "/v1/sys/seal", { token: root })).status).toBe(204);
    expect((await downloadBackup(source, root)).status).toBe(503);
  });
});
