import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper, findSeedLeaks } from "../support/encodings.js";
import { callApi } from "../support/server.js";
import {
  newTestStorage,
  openRawDatabase,
  POSTGRES_ADMIN_URL,
  skipOutsidePostgresPass,
  type TestStorage,
} from "../support/storage.js";
import { oathtoolCode, tempDir } from "../support/tools.js";
import { Cli, type ServerProcess, startServerProcess, unsealWith } from "./cli-harness.js";

// Needs both engines at once, so it runs in the PostgreSQL pass only.
const withoutPostgres = skipOutsidePostgresPass("migration tests");

const TOTP = { algorithm: "SHA1", digits: 6, period: 30 };

/** Row counts and the audit head of a database, to show that a refused migration changed nothing. */
async function snapshot(storage: TestStorage): Promise<Record<string, unknown>[]> {
  const db = await openRawDatabase(storage);
  try {
    return await db.rows(
      `select (select count(*) from seal_config) as seal_config, (select count(*) from totp_keys) as totp_keys,
              (select count(*) from tokens) as tokens, (select count(*) from audit_entries) as audit_entries,
              (select max(seq) from audit_entries) as head_seq`,
    );
  } finally {
    await db.close();
  }
}

/** Every row of a table, each value as text (SQLite's integers and PostgreSQL's int8 alike), in key order. */
async function tableRows(storage: TestStorage, table: string): Promise<Record<string, unknown>[]> {
  const db = await openRawDatabase(storage);
  try {
    const rows = await db.rows(`select * from ${table}`);
    return rows
      .map((row) =>
        Object.fromEntries(
          Object.entries(row)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([column, value]) => [column, value === null ? null : String(value)]),
        ),
      )
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  } finally {
    await db.close();
  }
}

/** The tables of the SQLite install, from its own catalogue: the test does not take the tool's word for them. */
async function sqliteTables(storage: TestStorage): Promise<string[]> {
  const db = await openRawDatabase(storage);
  try {
    const rows = await db.rows<{ name: string }>(
      "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name",
    );
    return rows.map((row) => row.name);
  } finally {
    await db.close();
  }
}

/**
 * restore_chunks holds rows only between a restore's upload and the unseal that applies it, on a
 * server initialised by nothing but that restore: no install being moved has both.
 */
// Leases are let go at a clean stop; dead letters take minutes of failures; the bus-factor notice a warning.
const EMPTY_IN_AN_INSTALL = ["restore_chunks", "leases", "dead_letters", "cluster_notices"];

describe.skipIf(withoutPostgres)("breakglass migrate sqlite-to-postgres", () => {
  let sqlite: TestStorage & { engine: "sqlite" };
  let postgres: TestStorage & { engine: "postgres" };
  let server: ServerProcess | null = null;
  let cli: Cli;
  let shares: string[];
  let rootToken: string;
  let token: string;
  let approvedId: string;
  let sourceHead: { entries: number; head_seq: number; head_hash: string };
  let tables: string[];
  const seeds = { "aws-root": randomBytes(20), "gcp-root": randomBytes(20) };
  /** alice's own second factor, enrolled on SQLite. */
  let secondFactor: Buffer;
  const passwords = { alice: "alice keeps a long password", bob: "bob keeps another long one" };
  const login = (url: string, name: keyof typeof passwords, totp?: string) =>
    callApi(url, "POST", `/v1/auth/userpass/login/${name}`, { body: { password: passwords[name], totp } });
  const totpNow = (offsetSeconds = 0) =>
    oathtoolCode(secondFactor.toString("hex"), {
      ...TOTP,
      unixSeconds: Math.floor(Date.now() / 1000) + offsetSeconds,
    });
  const migrate = (to: string, ...flags: string[]) =>
    cli.run(["migrate", "sqlite-to-postgres", "--from", sqlite.dataDir, "--to", to, ...flags]);

  /** Reads a code through the CLI and checks it against oathtool at the step the server served. */
  async function expectOathtoolCode(name: keyof typeof seeds, flags: string[] = []) {
    const released = await cli.json(["totp", "code", name, ...flags]);
    expect(released.code).toBe(
      oathtoolCode(seeds[name].toString("hex"), { ...TOTP, unixSeconds: released.valid_from }),
    );
  }

  /** Fills every table of the SQLite install through the API, as its users would have. */
  beforeAll(async () => {
    sqlite = (await newTestStorage("sqlite")) as typeof sqlite;
    postgres = (await newTestStorage("postgres")) as typeof postgres;
    server = await startServerProcess(sqlite);
    const url = server.url;
    cli = new Cli({ BREAKGLASS_ADDR: url });
    const init = await cli.json([
      "operator",
      "init",
      "--shares",
      "3",
      "--threshold",
      "2",
      "--custodians",
      "ana,bo,cy",
    ]);
    shares = init.keys;
    rootToken = init.root_token;
    await unsealWith(cli, [shares[0] as string, shares[1] as string]);
    cli.env.BREAKGLASS_TOKEN = rootToken;
    const asRoot = async (method: string, path: string, body: unknown) => {
      const response = await callApi(url, method, path, { token: rootToken, body });
      expect(response.status, `${method} ${path}: ${response.text}`).toBeLessThan(300);
      return response;
    };
    for (const [name, seed] of Object.entries(seeds)) {
      const added = await cli.run(["totp", "add", name, "--secret", "-"], { input: encodeBase32Upper(seed) });
      expect(added.code).toBe(0);
    }
    token = (await asRoot("POST", "/v1/auth/token/create", { policies: ["default", "totp-reader"] })).json
      .auth.client_token;
    for (const [name, password] of Object.entries(passwords))
      await asRoot("PUT", `/v1/auth/userpass/users/${name}`, { password });
    await asRoot("PUT", "/v1/groups/oncall", { members: ["alice"] });
    await asRoot("PUT", "/v1/groups/security", { members: ["bob"] });
    // The two-person rule the migration must not lose: a reason and bob's approval, for root too.
    await asRoot("PUT", "/v1/totp/access/aws-root", {
      readers: ["group:oncall"],
      approvers: ["group:security"],
      approvals_required: 1,
      require_reason: true,
      approval_ttl: 3600,
    });
    await asRoot("PUT", "/v1/notify/webhooks/team", {
      url: "http://127.0.0.1:9/hook",
      events: ["device.checkout"],
    });
    await asRoot("PUT", "/v1/notify/smtp", {
      host: "127.0.0.1",
      port: 9,
      secure: false,
      from: "breakglass@acme.example",
      to: ["team@acme.example"],
    });
    await asRoot("PUT", "/v1/sys/audit/sinks/disk", {
      type: "file",
      options: { path: join(tempDir(), "audit.jsonl") },
    });
    await asRoot("POST", "/v1/devices", {
      kind: "hardware-totp",
      serial: "SN-0001",
      label: "AWS root token",
      protects: ["aws-root"],
      location: "Safe A",
      custodian: "bo",
      review_by: "2030-01-01",
    });
    const alice = (await login(url, "alice")).json.auth.client_token;
    const enrolment = await callApi(url, "POST", "/v1/auth/userpass/mfa", { token: alice, body: {} });
    const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
    secondFactor = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes);
    const confirmed = await callApi(url, "POST", "/v1/auth/userpass/mfa/confirm", {
      token: alice,
      body: { code: totpNow() },
    });
    expect(confirmed.status).toBe(204);
    const bob = (await login(url, "bob")).json.auth.client_token;
    const request = (reason: string) =>
      callApi(url, "POST", "/v1/approvals", { token: alice, body: { key: "aws-root", reason } });
    approvedId = (await request("INC-4411 billing lockout")).json.data.id;
    expect((await request("INC-4412 still pending")).status).toBe(200);
    const approved = await callApi(url, "POST", `/v1/approvals/${approvedId}/approve`, {
      token: bob,
      body: {},
    });
    expect(approved.json.data.status).toBe("approved");
    expect(
      (await callApi(url, "POST", "/v1/auth/userpass/login/bob", { body: { password: "not bob's" } })).status,
    ).toBe(400);
    await expectOathtoolCode("gcp-root");
    sourceHead = await cli.json(["audit", "verify"]);
    expect(await server.stop()).toBe(0);
    server = null;
    tables = await sqliteTables(sqlite);
    const source = await openRawDatabase(sqlite);
    // A passkey of alice's and a challenge not yet answered, as registration and login/begin store
    // them (a registration needs a browser: test/ui/passkeys-webauthn.test.ts).
    await source.run(
      `insert into passkeys (id, username, name, public_key, counter, transports, device_type, backed_up, created_at, last_used_at)
        values ('YWxpY2UtcGFzc2tleQ', 'alice', 'laptop', 'pQECAyYgASFYIA', 3, '["internal"]', 'multiDevice', 1, '2026-12-01T00:00:00.000Z', null)`,
    );
    await source.run(
      `insert into passkey_challenges (challenge, username, purpose, binding, created_at, expires_at)
        values ('Y2hhbGxlbmdl', 'alice', 'step-up', 'totp.code.read aws-root', '2026-12-01T00:00:00.000Z', '2026-12-01T00:01:00.000Z')`,
    );
    // A provider configured, a role, a sign-in in flight, alice's provider account and her sign-in,
    // as sign-in with an OpenID provider stores them (a sign-in needs a provider: test/http/oidc.test.ts).
    const at = "2026-12-01T00:00:00.000Z";
    const issuer = "https://sso.acme.example/realms/acme";
    await source.run(
      `insert into oidc_config (id, discovery_url, client_id, client_secret_ciphertext, key_version, default_role, updated_at)
        values (1, '${issuer}', 'breakglass', null, null, 'staff', '${at}')`,
    );
    await source.run(
      `insert into oidc_roles (name, spec, updated_at) values ('staff', '{"userClaim":"preferred_username"}', '${at}')`,
    );
    await source.run(
      `insert into oidc_states (state_hmac, role, redirect_uri, client_nonce_hmac, created_at, expires_at)
        values ('c3RhdGU', 'staff', 'http://localhost:8250/oidc/callback', null, '${at}', '2026-12-01T00:10:00.000Z')`,
    );
    await source.run(
      `insert into oidc_identities (subject_key, username, created_at) values ('${issuer} sub-alice', 'alice', '${at}')`,
    );
    await source.run(
      `insert into oidc_logins (accessor, role, username, subject_key, refresh_ciphertext, key_version, updated_at)
        values ('YWNjZXNzb3I', 'staff', 'alice', '${issuer} sub-alice', null, null, '${at}')`,
    );
    for (const table of tables.filter((name) => !EMPTY_IN_AN_INSTALL.includes(name)))
      expect(await source.rows(`select count(*) as n from ${table}`), table).not.toEqual([{ n: 0 }]);
    await source.close();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("copies every table of the stopped SQLite install, then checks each table's rows and digest and the audit chain there", async () => {
    const result = await migrate(postgres.databaseUrl);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toBe("copy seal_config: 1 row");
    expect(lines).toEqual(
      expect.arrayContaining([
        "copy totp_keys: 2 rows",
        "copy users: 2 rows",
        "copy access_rules: 1 row",
        "copy approvals: 2 rows",
        "copy second_factors: 1 row",
        `copy audit_entries: ${sourceHead.entries} rows`,
      ]),
    );
    expect(lines.filter((line) => !/^copy [a-z_]+: \d+ rows?$/.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    for (const table of tables)
      expect(result.stdout).toMatch(new RegExp(`^  ${table} +\\d+ rows? +sha256 [0-9a-f]{16}  match$`, "m"));
    expect(result.stdout).toContain("Every table matches the source: rows and SHA-256 of their content");
    expect(result.stdout).toContain(
      `Audit chain verified on PostgreSQL: ${sourceHead.entries} entries, head seq ${sourceHead.head_seq} hash ${sourceHead.head_hash}`,
    );
    expect(result.stdout).toContain("Next: start: breakglass server --database postgres://");
  });

  it("every table on PostgreSQL holds the source's rows, value for value (read apart from the tool)", async () => {
    expect(tables).toContain("access_rules");
    for (const table of tables)
      expect({ table, rows: await tableRows(postgres, table) }).toEqual({
        table,
        rows: await tableRows(sqlite, table),
      });
  });

  it("--verify-only checks the copy again (every table matches, the chain verifies) and writes nothing", async () => {
    const before = await snapshot(postgres);
    const result = await migrate(postgres.databaseUrl, "--verify-only", "--json");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      outcome: "verified",
      problem: null,
      audit: { entries: sourceHead.entries, head_seq: sourceHead.head_seq, head_hash: sourceHead.head_hash },
    });
    expect(report.tables.map((check: { table: string }) => check.table).sort()).toEqual(tables);
    for (const check of report.tables) {
      expect(check).toMatchObject({
        match: true,
        target_rows: check.source_rows,
        target_sha256: check.source_sha256,
      });
      expect(check.source_sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(await snapshot(postgres)).toEqual(before);
  });

  it("a rerun onto the same copy copies nothing, checks it and says so: exit 0", async () => {
    const result = await migrate(postgres.databaseUrl);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^Nothing copied: the target already holds this vault, copied before\. Checked /,
    );
    expect(result.stdout).toContain("Every table matches the source");
    expect(result.stdout).toContain("--verify-only");
  });

  it("a row changed on the target: --verify-only exits 1 naming the table, and passes once it is put back", async () => {
    const target = await openRawDatabase(postgres);
    try {
      await target.run("update access_rules set require_reason = 0, approvals_required = 0");
      const result = await migrate(postgres.databaseUrl, "--verify-only");
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^error: postgres:\/\/\S+ differs from the source in access_rules \(content\): one of them changed after the copy .*; if no node serves from it yet, drop the target database and migrate again\n$/,
      );
      expect(result.stdout).toMatch(/^ {2}access_rules +1 row, target 1 .* DIFFERS$/m);
      expect(result.stdout).toMatch(/^ {2}approvals +2 rows {2}.* match$/m);
      await target.run("update access_rules set require_reason = 1, approvals_required = 1");
      expect((await migrate(postgres.databaseUrl, "--verify-only")).code).toBe(0);
    } finally {
      await target.close();
    }
  });

  it("a server on PostgreSQL, unsealed with other shares, still enforces the rule (reason and approval, root too), lets alice in with her second factor, serves oathtool's codes and extends the same chain", async () => {
    server = await startServerProcess(postgres);
    const url = server.url;
    cli.env.BREAKGLASS_ADDR = url;
    await unsealWith(cli, [shares[2] as string, shares[0] as string]);
    const read = (who: string, query = "") =>
      callApi(url, "GET", `/v1/totp/code/aws-root${query}`, { token: who });
    const noReason = await read(rootToken);
    expect(noReason.status).toBe(400);
    expect(noReason.json.errors[0]).toMatch(/reason is required/);
    expect((await read(rootToken, "?reason=INC-1")).status).toBe(403);
    expect((await login(url, "alice")).status).toBe(400);
    const alice = await login(url, "alice", totpNow(30));
    expect(alice.status).toBe(200);
    const aliceToken = alice.json.auth.client_token;
    expect((await read(aliceToken, "?reason=INC-1")).status).toBe(403);
    const approved = await read(aliceToken, `?approval=${approvedId}`);
    expect(approved.status).toBe(200);
    expect(approved.json.data.code).toBe(
      oathtoolCode(seeds["aws-root"].toString("hex"), {
        ...TOTP,
        unixSeconds: approved.json.data.valid_from,
      }),
    );
    await expectOathtoolCode("gcp-root");
    expect((await callApi(url, "GET", "/v1/auth/token/lookup-self", { token })).status).toBe(200);
    const verified = await cli.json(["audit", "verify"]);
    expect(verified.head_seq).toBeGreaterThan(sourceHead.head_seq);
    const exported = (await cli.run(["audit", "export"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(exported.find((entry) => entry.seq === sourceHead.head_seq)?.hash).toBe(sourceHead.head_hash);
    expect(
      findSeedLeaks(
        [...Object.values(seeds), secondFactor],
        cli.transcript.map((content, i) => ({ where: `output ${i}`, content })),
      ),
    ).toEqual([]);
    expect(await server.stop()).toBe(0);
    server = null;
  });

  it("once a server ran on the copy, a rerun says it changed since and copies nothing: exit 1", async () => {
    const before = await snapshot(postgres);
    const result = await migrate(postgres.databaseUrl);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: postgres:\/\/\S+ differs from the source in [^\n]*audit_entries \(\d+ rows, the target \d+\)[^\n]*: one of them changed after the copy/,
    );
    expect(await snapshot(postgres)).toEqual(before);
  });

  it("refuses to copy into a database that holds another vault: exit 1, nothing changed", async () => {
    const other = (await newTestStorage("postgres")) as typeof postgres;
    expect((await migrate(other.databaseUrl)).code).toBe(0);
    const db = await openRawDatabase(other);
    await db.run("update seal_config set cluster_id = 'another-vault'");
    await db.close();
    const before = await snapshot(other);
    const result = await migrate(other.databaseUrl);
    expect(result).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "error: the target database already holds another breakglass vault; nothing was copied\n",
    });
    expect(await snapshot(other)).toEqual(before);
  });

  it("--verify-only against a database the copy never reached: exit 1, saying to run the migration", async () => {
    const empty = (await newTestStorage("postgres")) as typeof postgres;
    const result = await migrate(empty.databaseUrl, "--verify-only");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: postgres:\/\/\S+ holds no breakglass schema: .*run the migration without --verify-only\n$/,
    );
  });

  it("refuses a directory without breakglass data: exit 1, and creates nothing there", async () => {
    const empty = tempDir();
    const result = await cli.run([
      "migrate",
      "sqlite-to-postgres",
      "--from",
      empty,
      "--to",
      postgres.databaseUrl,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: no breakglass data in ${empty} (no breakglass.sqlite)\n`);
    expect(readdirSync(empty)).toEqual([]);
  });

  it("--to that is not a PostgreSQL URL is a usage error: exit 2", async () => {
    const result = await cli.run([
      "migrate",
      "sqlite-to-postgres",
      "--from",
      sqlite.dataDir,
      "--to",
      "mysql://x",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: --to must be a PostgreSQL URL/);
  });

  it("an unreachable server or a missing database: exit 1 in one line, the password masked", async () => {
    const missing = new URL(POSTGRES_ADMIN_URL as string);
    missing.pathname = "/breakglass_test_no_such_database";
    const cases = [
      {
        url: "postgres://breakglass:hunter2-not-shown@127.0.0.1:1/breakglass",
        reason:
          /^error: cannot use postgres:\/\/breakglass:\*\*\*\*@127\.0\.0\.1:1\/breakglass: .*ECONNREFUSED/,
      },
      { url: missing.toString(), reason: /database "breakglass_test_no_such_database" does not exist/ },
    ];
    for (const { url, reason } of cases) {
      const result = await cli.run(["migrate", "sqlite-to-postgres", "--from", sqlite.dataDir, "--to", url]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: cannot use postgres:\/\/[^\n]+\n$/);
      expect(result.stderr).toMatch(reason);
      expect(result.stdout + result.stderr).not.toContain("hunter2");
    }
  });

  it("a chain that does not verify once copied: exit 1, naming the entry and saying to drop the target", async () => {
    const source = await openRawDatabase(sqlite);
    await source.run("update audit_entries set actor = 'someone-else' where seq = 2");
    await source.close();
    const target = (await newTestStorage("postgres")) as typeof postgres;
    const result = await cli.run([
      "migrate",
      "sqlite-to-postgres",
      "--from",
      sqlite.dataDir,
      "--to",
      target.databaseUrl,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: the audit chain copied into postgres:\/\/\S+ is broken at entry 2: entry 2 was altered .*; drop the target database before trying again\n$/m,
    );
  });
});
