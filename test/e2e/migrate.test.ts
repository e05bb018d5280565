import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
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

describe.skipIf(withoutPostgres)("breakglass migrate sqlite-to-postgres", () => {
  let sqlite: TestStorage & { engine: "sqlite" };
  let postgres: TestStorage & { engine: "postgres" };
  let server: ServerProcess | null = null;
  let cli: Cli;
  let shares: string[];
  let token: string;
  let sourceHead: { entries: number; head_seq: number; head_hash: string };
  const seeds = { "aws-root": randomBytes(20), "gcp-root": randomBytes(20) };
  /** erin's own second factor, enrolled on SQLite. */
  let secondFactor: Buffer;
  const erinPassword = "erin keeps a long password";
  const erinLogin = (url: string, totp?: string) =>
    callApi(url, "POST", "/v1/auth/userpass/login/erin", { body: { password: erinPassword, totp } });

  /** Reads a code through the CLI and checks it against oathtool at the step the server served. */
  async function expectOathtoolCode(name: keyof typeof seeds) {
    const released = await cli.json(["totp", "code", name]);
    expect(released.code).toBe(
      oathtoolCode(seeds[name].toString("hex"), { ...TOTP, unixSeconds: released.valid_from }),
    );
  }

  beforeAll(async () => {
    sqlite = (await newTestStorage("sqlite")) as typeof sqlite;
    postgres = (await newTestStorage("postgres")) as typeof postgres;
    server = await startServerProcess(sqlite);
    cli = new Cli({ BREAKGLASS_ADDR: server.url });
    const init = await cli.json(["operator", "init", "--shares", "3", "--threshold", "2"]);
    shares = init.keys;
    await unsealWith(cli, [shares[0] as string, shares[1] as string]);
    cli.env.BREAKGLASS_TOKEN = init.root_token;
    for (const [name, seed] of Object.entries(seeds)) {
      const added = await cli.run(["totp", "add", name, "--secret", "-"], { input: encodeBase32Upper(seed) });
      expect(added.code).toBe(0);
    }
    const created = await callApi(server.url, "POST", "/v1/auth/token/create", {
      token: init.root_token,
      body: { policies: ["default", "totp-reader"] },
    });
    token = created.json.auth.client_token;
    await callApi(server.url, "PUT", "/v1/auth/userpass/users/erin", {
      token: init.root_token,
      body: { password: erinPassword },
    });
    const erin = (await erinLogin(server.url)).json.auth.client_token;
    const enrolment = await callApi(server.url, "POST", "/v1/auth/userpass/mfa", { token: erin, body: {} });
    const secret = new URL(enrolment.json.data.url).searchParams.get("secret") as string;
    secondFactor = Buffer.from(OTPAuth.Secret.fromBase32(secret).bytes);
    const confirmed = await callApi(server.url, "POST", "/v1/auth/userpass/mfa/confirm", {
      token: erin,
      body: {
        code: oathtoolCode(secondFactor.toString("hex"), {
          ...TOTP,
          unixSeconds: Math.floor(Date.now() / 1000),
        }),
      },
    });
    expect(confirmed.status).toBe(204);
    await expectOathtoolCode("aws-root");
    await expectOathtoolCode("gcp-root");
    sourceHead = await cli.json(["audit", "verify"]);
    expect(await server.stop()).toBe(0);
    server = null;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("copies every table of the stopped SQLite install into the empty database and verifies the audit chain there", async () => {
    const result = await cli.run([
      "migrate",
      "sqlite-to-postgres",
      "--from",
      sqlite.dataDir,
      "--to",
      postgres.databaseUrl,
    ]);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toBe("copy seal_config: 1 row");
    expect(lines).toEqual(
      expect.arrayContaining([
        "copy totp_keys: 2 rows",
        "copy tokens: 3 rows",
        "copy users: 1 row",
        "copy second_factors: 1 row",
        `copy audit_entries: ${sourceHead.entries} rows`,
      ]),
    );
    expect(lines.filter((line) => !/^copy [a-z_]+: \d+ rows?$/.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Audit chain verified on PostgreSQL: ${sourceHead.entries} entries, head seq ${sourceHead.head_seq} hash ${sourceHead.head_hash}`,
    );
    expect(result.stdout).toContain("Next: start: breakglass server --database postgres://");
    expect(await snapshot(postgres)).toEqual([
      expect.objectContaining({
        seal_config: "1",
        totp_keys: "2",
        tokens: "3",
        head_seq: String(sourceHead.head_seq),
      }),
    ]);
  });

  it("a server on PostgreSQL, unsealed with other shares of the same set, serves oathtool's codes, accepts the old token, a person's second factor, and extends the same chain", async () => {
    server = await startServerProcess(postgres);
    cli.env.BREAKGLASS_ADDR = server.url;
    await unsealWith(cli, [shares[2] as string, shares[0] as string]);
    await expectOathtoolCode("aws-root");
    await expectOathtoolCode("gcp-root");
    expect((await callApi(server.url, "GET", "/v1/auth/token/lookup-self", { token })).status).toBe(200);
    expect((await erinLogin(server.url)).status).toBe(400);
    const next = oathtoolCode(secondFactor.toString("hex"), {
      ...TOTP,
      unixSeconds: Math.floor(Date.now() / 1000) + 30,
    });
    expect((await erinLogin(server.url, next)).status).toBe(200);
    const read = await callApi(server.url, "GET", "/v1/totp/code/gcp-root", { token });
    expect(read.json.data.code).toBe(
      oathtoolCode(seeds["gcp-root"].toString("hex"), { ...TOTP, unixSeconds: read.json.data.valid_from }),
    );
    const verified = await cli.json(["audit", "verify"]);
    expect(verified.head_seq).toBeGreaterThanOrEqual(sourceHead.head_seq);
    const exported = (await cli.run(["audit", "export"])).stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(exported.find((entry) => entry.seq === sourceHead.head_seq)?.hash).toBe(sourceHead.head_hash);
    expect(
      findSeedLeaks(
        Object.values(seeds),
        cli.transcript.map((content, i) => ({ where: `output ${i}`, content })),
      ),
    ).toEqual([]);
    expect(await server.stop()).toBe(0);
    server = null;
  });

  it("refuses to copy into a database that already holds a vault: exit 1, nothing changed", async () => {
    const before = await snapshot(postgres);
    const result = await cli.run([
      "migrate",
      "sqlite-to-postgres",
      "--from",
      sqlite.dataDir,
      "--to",
      postgres.databaseUrl,
    ]);
    expect(result).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "error: the target database already holds a breakglass vault; nothing was copied\n",
    });
    expect(await snapshot(postgres)).toEqual(before);
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
