// npm run bench:reads: code reads per second and latency for GET /v1/totp/code/:name with its
// durable audit entry, at 1, 32 and 128 connections — on SQLite, on PostgreSQL with one node and
// with two nodes sharing the database — beside a bare node:http server doing the same HMAC (the
// ceiling), all measured in the same run by wrk (a load generator in C, so the client's own cost
// stays small). Prints figures and ratios; asserts nothing (the machine is shared and noisy).
//   BENCH_SECONDS: per measurement;  BENCH_CONNECTIONS: e.g. "1,32,128";  BENCH_LOG_LEVEL: the servers' (info);
//   BENCH_DATABASE_URL: an administrative PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/postgres;
//   the PostgreSQL figures are skipped if it cannot be reached).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import pg from "pg";
import { chainEntries } from "../dist/core/audit-chain.js";
import { auditRowFromEntry } from "../dist/store/audit-appenders.js";
import { openSqliteStore } from "../dist/store/sqlite.js";
import { codeReadEntry } from "./audit-fixture.mjs";

const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,32,128").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
/** Before a server's first measurement: its start-up work (jobs after unseal, JIT) is done by then. */
const FIRST_WARMUP_SECONDS = 6;
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const here = new URL(".", import.meta.url).pathname;
const children = [];

if (spawnSync("wrk", ["--version"]).error) {
  console.error("bench:reads needs wrk, the HTTP load generator: apt-get install wrk");
  process.exit(1);
}

/** One of servers.mjs's servers in its own process; `stop` ends it (and its timers' disk work). */
function startServer(args) {
  const child = spawn(process.execPath, [join(here, "servers.mjs"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const stop = async () => {
    if (child.exitCode === null) child.kill();
    await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve()));
  };
  return new Promise((resolve, reject) => {
    // The URL line; the server's log lines (read and dropped, so the pipe never fills) come around it.
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.startsWith("http")) resolve({ url: line, stop });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function call(url, method, path, { token, body } = {}) {
  const response = await fetch(url + path, {
    method,
    headers: token ? { "x-vault-token": token } : {},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const MS_PER_UNIT = { us: 0.001, ms: 1, s: 1000 };
const latencyMs = (text) => {
  const [, value, unit] = text.match(/^([\d.]+)(us|ms|s)$/);
  return Number(value) * MS_PER_UNIT[unit];
};

/** One wrk run: closed loops on `connections` connections, each sending the next request when the last answered. */
function wrk(url, connections, seconds, token) {
  return new Promise((resolve, reject) => {
    const args = ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${seconds}s`];
    const child = spawn("wrk", [
      ...args,
      "--latency",
      ...(token ? ["-H", `X-Vault-Token: ${token}`] : []),
      url,
    ]);
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${output}`));
      const percentile = (p) => latencyMs(output.match(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m"))[1]);
      resolve({
        perSecond: Number(output.match(/Requests\/sec:\s+([\d.]+)/)[1]),
        p50: percentile(50),
        p99: percentile(99),
        requests: Number(output.match(/(\d+) requests in/)[1]),
        failures:
          Number(output.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0) +
          (output.match(/Socket errors: (.*)/)?.[1].match(/\d+/g) ?? [])
            .map(Number)
            .reduce((a, b) => a + b, 0),
      });
    });
    child.once("error", reject);
  });
}

/** Load spread over several servers (one wrk each, connections split); p99 is the worse node's. */
async function load(urls, connections, seconds, token) {
  const share = Math.max(1, Math.floor(connections / urls.length));
  const results = await Promise.all(urls.map((url) => wrk(url, share, seconds, token)));
  return {
    perSecond: results.reduce((sum, r) => sum + r.perSecond, 0),
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    failures: results.reduce((sum, r) => sum + r.failures, 0),
  };
}

async function measure(name, servers, path, connections, token) {
  const urls = servers.map((server) => server + path);
  await load(urls, connections, WARMUP_SECONDS, token);
  const before = token && (await auditCounters(servers[0]));
  const result = await load(urls, connections, SECONDS, token);
  const figures = `${result.perSecond.toFixed(0).padStart(7)} reads/s   p50 ${result.p50.toFixed(2).padStart(6)} ms   p99 ${result.p99.toFixed(2).padStart(6)} ms`;
  console.log(`  ${name.padEnd(34)} ${figures}   (${result.requests} requests, ${result.failures} failed)`);
  return { ...result, audit: before ? auditFigures(before, await auditCounters(servers[0])) : "" };
}

/** Initialises through the first node, unseals every node, adds a key and a reader token. */
async function prepareVault(urls) {
  const init = await call(urls[0], "PUT", "/v1/sys/init", {
    body: { secret_shares: 1, secret_threshold: 1 },
  });
  for (const url of urls) await call(url, "PUT", "/v1/sys/unseal", { body: { key: init.keys[0] } });
  await call(urls[0], "POST", "/v1/totp/keys/bench", {
    token: init.root_token,
    body: { key: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
  });
  const reader = await call(urls[0], "POST", "/v1/auth/token/create", {
    token: init.root_token,
    body: { policies: ["totp-reader"] },
  });
  return reader.auth.client_token;
}

async function auditCounters(url) {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const number = (name) => Number(metrics.match(new RegExp(`^${name} ([\\d.e+-]+)`, "m"))?.[1]);
  return {
    transactions: number("breakglass_audit_transaction_entries_count"),
    entries: number("breakglass_audit_transaction_entries_sum"),
    commitSeconds: number("breakglass_audit_commit_seconds_sum"),
    commits: number("breakglass_audit_commit_seconds_count"),
    commitsWithin25ms: number('breakglass_audit_commit_seconds_bucket\\{le="0.025"\\}'),
  };
}

/** How the audit commits went during a measurement, from the node's /metrics before and after. */
function auditFigures(before, after) {
  const entries = after.entries - before.entries;
  const perTransaction = entries / (after.transactions - before.transactions);
  const handOverMs = (1000 * (after.commitSeconds - before.commitSeconds)) / (after.commits - before.commits);
  const commits = after.commits - before.commits;
  const slow = commits - (after.commitsWithin25ms - before.commitsWithin25ms);
  return `${perTransaction.toFixed(1)} entries per audit transaction (fsync), ${handOverMs.toFixed(2)} ms from hand-over to durable, ${slow} of ${commits} over 25 ms`;
}

/** A fresh database on the PostgreSQL server, or null when there is none to be had. */
async function createBenchDatabase() {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `breakglass_bench_${randomBytes(4).toString("hex")}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/**
 * What the disk allows before any server: the schema's SQLite file, transactions of 25 audit
 * rows committed one after another as the audit writer does (WAL, synchronous=FULL). A code read
 * cannot beat its commit; this machine's slowest commits bound every p99 below.
 */
async function diskCommits(dir, seconds) {
  await (await openSqliteStore(dir)).close();
  const db = new Database(join(dir, "breakglass.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  const insert = db.prepare(
    "insert into audit_entries values (@seq, @time, @actor, @action, @target, @outcome, @reason, @request_id, @remote_addr, @user_agent, @approval_ids, @details, @prev_hash, @hash)",
  );
  let head = null;
  const commit = db.transaction((entries) => {
    for (const entry of entries) insert.run(auditRowFromEntry(entry));
  });
  const times = [];
  for (const end = performance.now() + seconds * 1000; performance.now() < end; ) {
    const entries = chainEntries(
      head,
      Array.from({ length: 25 }, (_, i) => codeReadEntry((head?.seq ?? 0) + i, "totp/keys/bench")),
    );
    head = entries.at(-1);
    const started = performance.now();
    commit.immediate(entries);
    times.push(performance.now() - started);
  }
  db.close();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  const over = (ms) => times.filter((time) => time > ms).length;
  console.log(
    `  ${times.length} commits of 25 rows: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, p99.9 ${at(0.999)} ms, max ${at(1)} ms; ${over(25)} over 25 ms, ${over(100)} over 100 ms`,
  );
}

const CODE_PATH = "/v1/totp/code/bench?reason=bench";
const dataDir = mkdtempSync(join(tmpdir(), "breakglass-bench-"));
let database = null;
try {
  console.log(
    `code reads by wrk at ${CONNECTIONS.join(", ")} connections, ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${cpus().length} cores, ${new Date().toISOString()}`,
  );
  // Each kind of server runs alone while it is measured: idle nodes' timers and disk work would weigh on it.
  const rows = new Map(CONNECTIONS.map((connections) => [connections, {}]));
  console.log("\nbaseline (bare node:http + HMAC)");
  const baseline = await startServer(["baseline"]);
  await load([baseline.url], 32, FIRST_WARMUP_SECONDS);
  for (const connections of CONNECTIONS)
    rows.get(connections).baseline = await measure(
      `${connections} connections`,
      [baseline.url],
      "/",
      connections,
    );
  await baseline.stop();
  const ratio = (connections, result) =>
    (result.perSecond / rows.get(connections).baseline.perSecond).toFixed(2);

  console.log("\nthe disk: SQLite alone, no server (the floor of every SQLite figure below)");
  await diskCommits(mkdtempSync(join(tmpdir(), "breakglass-bench-disk-")), SECONDS);

  console.log("\nbreakglass, SQLite");
  const sqlite = await startServer(["breakglass", "--data", dataDir]);
  const sqliteToken = await prepareVault([sqlite.url]);
  await load([sqlite.url + CODE_PATH], 32, FIRST_WARMUP_SECONDS, sqliteToken);
  for (const connections of CONNECTIONS) {
    const result = await measure(
      `${connections} connections`,
      [sqlite.url],
      CODE_PATH,
      connections,
      sqliteToken,
    );
    rows.get(connections).sqlite = result;
    console.log(`     ratio to baseline ${ratio(connections, result)}; ${result.audit}`);
  }
  await sqlite.stop();

  database = await createBenchDatabase();
  if (!database)
    console.log(`\nPostgreSQL figures skipped: cannot reach ${ADMIN_URL} (set BENCH_DATABASE_URL)`);
  else {
    const nodes = [
      await startServer(["breakglass", "--database", database.url]),
      await startServer(["breakglass", "--database", database.url]),
    ];
    const urls = nodes.map((node) => node.url);
    const token = await prepareVault(urls);
    await load(
      urls.map((url) => url + CODE_PATH),
      32,
      FIRST_WARMUP_SECONDS,
      token,
    );
    console.log("\nbreakglass, PostgreSQL, one node (the second one idle)");
    for (const connections of CONNECTIONS) {
      const result = await measure(
        `${connections} connections`,
        urls.slice(0, 1),
        CODE_PATH,
        connections,
        token,
      );
      rows.get(connections).postgres = result;
      console.log(`     ratio to baseline ${ratio(connections, result)}; ${result.audit}`);
    }
    console.log(
      "\nbreakglass, PostgreSQL, two nodes (connections split, one audit chain; p50/p99 of the worse node)",
    );
    for (const connections of CONNECTIONS.filter((connections) => connections > 1)) {
      const result = await measure(`${connections} connections`, urls, CODE_PATH, connections, token);
      rows.get(connections).twoNodes = result;
      console.log(`     ratio to baseline ${ratio(connections, result)}`);
    }
    for (const node of nodes) await node.stop();
  }

  console.log(
    "\nreads/s and p99 (ratio to the baseline); aim at 32 connections on SQLite: ratio >= 0.7, p99 <= 10 ms",
  );
  const cell = (connections, result) =>
    result
      ? `${result.perSecond.toFixed(0)}/s ${result.p99.toFixed(1)} ms (${ratio(connections, result)})`
      : "-";
  console.log(
    ["connections", "baseline", "SQLite", "PostgreSQL", "PostgreSQL x2"].map((h) => h.padEnd(24)).join(""),
  );
  for (const [connections, row] of rows)
    console.log(
      [
        String(connections),
        `${row.baseline.perSecond.toFixed(0)}/s ${row.baseline.p99.toFixed(1)} ms`,
        ...["sqlite", "postgres", "twoNodes"].map((k) => cell(connections, row[k])),
      ]
        .map((text) => text.padEnd(24))
        .join(""),
    );
} finally {
  for (const child of children) child.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the nodes close their connections
  await database?.drop();
}
