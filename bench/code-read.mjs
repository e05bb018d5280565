// npm run bench: code reads per second and latency for GET /v1/totp/code/:name with its durable
// audit entry — on SQLite, on PostgreSQL with one node and with two nodes sharing the database —
// beside a bare node:http server doing the same HMAC, all measured in the same run.
// Prints figures and ratios; asserts nothing (the machine is shared and noisy).
//   BENCH_SECONDS, BENCH_CONNECTIONS: the load;  BENCH_DATABASE_URL: an administrative PostgreSQL URL
//   (default postgres://postgres@127.0.0.1:5432/postgres; the PostgreSQL figures are skipped if it cannot be reached).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const here = new URL(".", import.meta.url).pathname;
const children = [];

function startServer(args) {
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean), join(here, "servers.mjs"), ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (url) => resolve(url));
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function call(agent, url, method, path, { token, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method, agent, headers: token ? { "x-vault-token": token } : {} },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const callJson = async (...args) => JSON.parse((await call(...args)).text);

/** CONNECTIONS closed loops spread over the given servers, each sending the next request when the last answered. */
async function load(urls, path, token, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      const url = urls[i % urls.length];
      while (performance.now() < end) {
        const started = performance.now();
        const response = await call(agent, url, "GET", path, { token });
        if (response.status !== 200) failures++;
        latencies.push(performance.now() - started);
      }
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    requests: latencies.length,
    failures,
  };
}

async function measure(name, urls, path, token) {
  await load(urls, path, token, WARMUP_SECONDS);
  const result = await load(urls, path, token, SECONDS);
  const figures = `${result.perSecond.toFixed(0).padStart(7)} reads/s   p50 ${result.p50.toFixed(2).padStart(6)} ms   p99 ${result.p99.toFixed(2).padStart(6)} ms`;
  console.log(`${name.padEnd(36)} ${figures}   (${result.requests} requests, ${result.failures} failed)`);
  return result;
}

/** Initialises through the first node, unseals every node, adds a key and a reader token. */
async function prepareVault(urls) {
  const agent = new Agent({ keepAlive: true });
  const init = await callJson(agent, urls[0], "PUT", "/v1/sys/init", {
    body: { secret_shares: 1, secret_threshold: 1 },
  });
  for (const url of urls) await call(agent, url, "PUT", "/v1/sys/unseal", { body: { key: init.keys[0] } });
  await call(agent, urls[0], "POST", "/v1/totp/keys/bench", {
    token: init.root_token,
    body: { key: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
  });
  const reader = await callJson(agent, urls[0], "POST", "/v1/auth/token/create", {
    token: init.root_token,
    body: { policies: ["totp-reader"] },
  });
  agent.destroy();
  return reader.auth.client_token;
}

async function auditFigures(url) {
  const metrics = (await call(new Agent(), url, "GET", "/metrics")).text;
  const number = (name) => Number(metrics.match(new RegExp(`^${name} ([\\d.e+-]+)`, "m"))?.[1]);
  const transactions = number("breakglass_audit_transaction_entries_count");
  const entries = number("breakglass_audit_transaction_entries_sum");
  const handOver =
    number("breakglass_audit_commit_seconds_sum") / number("breakglass_audit_commit_seconds_count");
  return `${(entries / transactions).toFixed(1)} entries per audit transaction (fsync), ${(handOver * 1000).toFixed(2)} ms from hand-over to durable`;
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

const path = "/v1/totp/code/bench?reason=bench";
const dataDir = mkdtempSync(join(tmpdir(), "breakglass-bench-"));
let database = null;
try {
  console.log(
    `code reads, ${CONNECTIONS} connections, ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${new Date().toISOString()}`,
  );
  const baseline = await measure(
    "baseline (bare node:http + HMAC)",
    [await startServer(["baseline"])],
    "/",
    undefined,
  );
  const ratio = (result) => (result.perSecond / baseline.perSecond).toFixed(2);

  const sqliteNode = await startServer(["breakglass", "--data", dataDir]);
  const sqlite = await measure("breakglass, SQLite", [sqliteNode], path, await prepareVault([sqliteNode]));
  console.log(
    `  ratio to baseline ${ratio(sqlite)} (aim >= 0.5), p99 ${sqlite.p99.toFixed(2)} ms (aim <= 25 ms); ${await auditFigures(sqliteNode)}`,
  );

  database = await createBenchDatabase();
  if (!database) {
    console.log(`PostgreSQL figures skipped: cannot reach ${ADMIN_URL} (set BENCH_DATABASE_URL)`);
  } else {
    const [first, second] = [
      await startServer(["breakglass", "--database", database.url]),
      await startServer(["breakglass", "--database", database.url]),
    ];
    const token = await prepareVault([first, second]);
    const one = await measure("breakglass, PostgreSQL, one node", [first], path, token);
    console.log(
      `  ratio to baseline ${ratio(one)}, p99 ${one.p99.toFixed(2)} ms; ${await auditFigures(first)}`,
    );
    const two = await measure("breakglass, PostgreSQL, two nodes", [first, second], path, token);
    console.log(
      `  ratio to baseline ${ratio(two)}, p99 ${two.p99.toFixed(2)} ms (both nodes, one audit chain, on the same 2 cores)`,
    );
  }
} finally {
  for (const child of children) child.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the nodes close their connections
  await database?.drop();
}
