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
import pg from "pg";

const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,32,128").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const here = new URL(".", import.meta.url).pathname;
const children = [];

if (spawnSync("wrk", ["--version"]).error) {
  console.error("bench:reads needs wrk, the HTTP load generator: apt-get install wrk");
  process.exit(1);
}

function startServer(args) {
  const child = spawn(process.execPath, [join(here, "servers.mjs"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    // The URL line; the server's log lines (read and dropped, so the pipe never fills) come around it.
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.startsWith("http")) resolve(line);
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

const CODE_PATH = "/v1/totp/code/bench?reason=bench";
const dataDir = mkdtempSync(join(tmpdir(), "breakglass-bench-"));
let database = null;
try {
  console.log(
    `code reads by wrk at ${CONNECTIONS.join(", ")} connections, ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${cpus().length} cores, ${new Date().toISOString()}`,
  );
  const baselineUrl = await startServer(["baseline"]);
  const sqliteUrl = await startServer(["breakglass", "--data", dataDir]);
  const sqliteToken = await prepareVault([sqliteUrl]);
  database = await createBenchDatabase();
  const postgres = database && [
    await startServer(["breakglass", "--database", database.url]),
    await startServer(["breakglass", "--database", database.url]),
  ];
  const postgresToken = postgres && (await prepareVault(postgres));
  if (!postgres)
    console.log(`PostgreSQL figures skipped: cannot reach ${ADMIN_URL} (set BENCH_DATABASE_URL)`);

  for (const connections of CONNECTIONS) {
    console.log(`\n${connections} connection${connections === 1 ? "" : "s"}`);
    const baseline = await measure("baseline (bare node:http + HMAC)", [baselineUrl], "/", connections);
    const versus = (result) => `     ratio to baseline ${(result.perSecond / baseline.perSecond).toFixed(2)}`;
    const sqlite = await measure("breakglass, SQLite", [sqliteUrl], CODE_PATH, connections, sqliteToken);
    console.log(
      `${versus(sqlite)}${connections === 32 ? " (aim >= 0.7, p99 <= 10 ms)" : ""}; ${sqlite.audit}`,
    );
    if (!postgres) continue;
    const one = await measure(
      "breakglass, PostgreSQL, one node",
      postgres.slice(0, 1),
      CODE_PATH,
      connections,
      postgresToken,
    );
    console.log(`${versus(one)}; ${one.audit}`);
    if (connections < 2) continue;
    const two = await measure(
      "breakglass, PostgreSQL, two nodes",
      postgres,
      CODE_PATH,
      connections,
      postgresToken,
    );
    console.log(`${versus(two)} (both nodes on these cores, one audit chain; p99 of the worse node)`);
  }
} finally {
  for (const child of children) child.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the nodes close their connections
  await database?.drop();
}
