// npm run bench:reads: code reads per second and latency for GET /v1/totp/code/:name with its
// durable audit entry, at 1, 32 and 128 connections — on SQLite, on PostgreSQL with one node and
// with two nodes sharing the database — beside a bare node:http server doing the same HMAC (the
// ceiling), all measured in the same run by wrk (a load generator in C, so the client's own cost
// stays small). Then the same SQLite server again with two notification webhooks (code.read, to a
// receiver in a process of its own) and a file audit sink: reads/s against the figures without
// them, and how many deliveries arrived during each measurement and after a short drain.
// Prints figures and ratios; asserts nothing (the machine is shared and noisy).
//   BENCH_SECONDS: per measurement;  BENCH_CONNECTIONS: e.g. "1,32,128";  BENCH_LOG_LEVEL: the servers' (info);
//   BENCH_DATABASE_URL: an administrative PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/postgres;
//   the PostgreSQL figures are skipped if it cannot be reached).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import Database from "better-sqlite3";
import pg from "pg";
import { chainEntries } from "../dist/core/audit-chain.js";
import { openSqliteStore } from "../dist/store/sqlite.js";
import { auditEntryInserter, codeReadEntry } from "./audit-fixture.mjs";

const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? "1,32,128").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
/** Before a server's first measurement: its start-up work (jobs after unseal, JIT) is done by then. */
const FIRST_WARMUP_SECONDS = 6;
/** After the last measurement with webhooks: how long their deliveries may take to arrive. */
const DRAIN_SECONDS = 10;
const WEBHOOKS = ["bench-a", "bench-b"];
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
    // "close", not "exit": the output may still be arriving when wrk has exited.
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${output}`));
      if (!/Requests\/sec:/.test(output)) return reject(new Error(`wrk printed no figures: ${output}`));
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

/** `receiver`: the webhooks' receiver, whose count during the measured seconds is returned as `deliveries`. */
async function measure(name, servers, path, connections, token, receiver) {
  const urls = servers.map((server) => server + path);
  await load(urls, connections, WARMUP_SECONDS, token);
  const before = token && (await auditCounters(servers[0]));
  const receivedBefore = receiver && (await deliveriesReceived(receiver));
  const result = await load(urls, connections, SECONDS, token);
  const receivedAfter = receiver && (await deliveriesReceived(receiver));
  const after = token && (await auditCounters(servers[0]));
  const figures = `${result.perSecond.toFixed(0).padStart(7)} reads/s   p50 ${result.p50.toFixed(2).padStart(6)} ms   p99 ${result.p99.toFixed(2).padStart(6)} ms`;
  console.log(`  ${name.padEnd(34)} ${figures}   (${result.requests} requests, ${result.failures} failed)`);
  return {
    ...result,
    audit: before ? auditFigures(before, after) : "",
    codeReads: before ? after.codeReads - before.codeReads : 0,
    deliveries: receiver ? receivedAfter.posts - receivedBefore.posts : 0,
  };
}

/** What the receiver got, summed over the webhooks: POSTs, and distinct event ids (when the server sends them). */
async function deliveriesReceived(receiverUrl) {
  const paths = Object.values(await (await fetch(receiverUrl)).json());
  return {
    posts: paths.reduce((sum, path) => sum + path.posts, 0),
    distinct: paths.reduce((sum, path) => sum + path.distinct, 0),
  };
}

/** Lines in a file sink's file and its rotated copies (path.1 …). */
function sinkLines(path) {
  let lines = 0;
  for (let i = 0, file = path; existsSync(file); file = `${path}.${++i}`)
    for (const byte of readFileSync(file)) if (byte === 10) lines++;
  return lines;
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
  return { token: reader.auth.client_token, root: init.root_token };
}

async function auditCounters(url) {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const number = (name) => Number(metrics.match(new RegExp(`^${name} ([\\d.e+-]+)`, "m"))?.[1]);
  /** Summed over the series of `name` whose labels include every one of `labels`. */
  const sum = (name, ...labels) =>
    metrics
      .split("\n")
      .filter((line) => line.startsWith(`${name}{`) && labels.every((label) => line.includes(label)))
      .reduce((total, line) => total + Number(line.split(" ").at(-1)), 0);
  return {
    codeReads: sum(
      "breakglass_http_request_duration_seconds_count",
      'route="/v1/totp/code/:name"',
      'status="200"',
    ),
    deadLetters: sum("breakglass_notification_dead_letters_total", 'channel="webhook:bench-'),
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
  let head = null;
  const insert = auditEntryInserter(db);
  const commit = db.transaction((entries) => {
    for (const entry of entries) insert(entry);
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

/**
 * The same server (measured alone: the receiver is part of what is measured) with two webhooks
 * subscribed to code.read and a file audit sink; each row's `outbox` result, compared with its
 * `sqlite` one. Then a short drain: how many of the deliveries owed have arrived.
 */
async function measureWithDestinations(url, token, root, rows) {
  console.log(
    `\nbreakglass, SQLite, the same server with ${WEBHOOKS.length} notification webhooks (code.read) and a file audit sink`,
  );
  const receiver = await startServer(["receiver"]);
  const sinkPath = join(dataDir, "audit-sink.jsonl");
  for (const name of WEBHOOKS)
    await call(url, "PUT", `/v1/notify/webhooks/${name}`, {
      token: root,
      body: { url: `${receiver.url}/${name}`, events: ["code.read"] },
    });
  await call(url, "PUT", "/v1/sys/audit/sinks/bench-file", {
    token: root,
    body: { type: "file", options: { path: sinkPath } },
  });
  const start = await auditCounters(url);
  for (const connections of CONNECTIONS) {
    const result = await measure(
      `${connections} connections`,
      [url],
      CODE_PATH,
      connections,
      token,
      receiver.url,
    );
    rows.get(connections).outbox = result;
    const owed = WEBHOOKS.length * result.codeReads;
    console.log(
      `     ratio to without ${outboxRatio(rows.get(connections))}; ${result.deliveries} of ${owed} deliveries received during the measurement (${percent(result.deliveries, owed)}); ${result.audit}`,
    );
  }
  const end = await auditCounters(url);
  const owed = WEBHOOKS.length * (end.codeReads - start.codeReads);
  const atEnd = await deliveriesReceived(receiver.url);
  // Until all arrived, nothing arrived for 2 s, or DRAIN_SECONDS.
  const drainStarted = performance.now();
  let received = atEnd;
  for (
    let still = 0;
    received.posts < owed && still < 4 && performance.now() - drainStarted < DRAIN_SECONDS * 1000;
  ) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const next = await deliveriesReceived(receiver.url);
    still = next.posts === received.posts ? still + 1 : 0;
    received = next;
  }
  const drained = (performance.now() - drainStarted) / 1000;
  const deadLetters = (await auditCounters(url)).deadLetters - start.deadLetters;
  console.log(
    `  deliveries owed: ${owed} (${WEBHOOKS.length} webhooks x ${end.codeReads - start.codeReads} code reads, warm-ups included); received when the load stopped: ${atEnd.posts} (${percent(atEnd.posts, owed)}); after a ${drained.toFixed(1)} s drain: ${received.posts} (${percent(received.posts, owed)})${received.distinct ? `, ${received.distinct} distinct event ids` : ""}; notification dead letters: ${deadLetters}`,
  );
  console.log(`  file sink: ${sinkLines(sinkPath)} lines (every audit entry, not only code reads)`);
  await receiver.stop();
}

const percent = (part, whole) => `${whole ? ((100 * part) / whole).toFixed(1) : "-"}%`;
/** Reads/s with the webhooks and the sink over reads/s without them. */
const outboxRatio = (row) => (row.outbox.perSecond / row.sqlite.perSecond).toFixed(2);

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
  const { token: sqliteToken, root: sqliteRoot } = await prepareVault([sqlite.url]);
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
  await measureWithDestinations(sqlite.url, sqliteToken, sqliteRoot, rows);
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
    const { token } = await prepareVault(urls);
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
    "\nreads/s and p99 (ratio to the baseline; SQLite+outbox: to SQLite without webhooks and sink); aim at 32 connections on SQLite: ratio >= 0.7, p99 <= 10 ms",
  );
  const figures = (result) => `${result.perSecond.toFixed(0)}/s ${result.p99.toFixed(1)} ms`;
  const cell = (connections, result) => (result ? `${figures(result)} (${ratio(connections, result)})` : "-");
  console.log(
    ["connections", "baseline", "SQLite", "SQLite+outbox", "PostgreSQL", "PostgreSQL x2"]
      .map((h) => h.padEnd(24))
      .join(""),
  );
  for (const [connections, row] of rows)
    console.log(
      [
        String(connections),
        figures(row.baseline),
        cell(connections, row.sqlite),
        `${figures(row.outbox)} (${outboxRatio(row)})`,
        ...["postgres", "twoNodes"].map((k) => cell(connections, row[k])),
      ]
        .map((text) => text.padEnd(24))
        .join(""),
    );
  const verdicts = [...rows].map(([connections, row]) => {
    const r = outboxRatio(row);
    return `${connections} connections ${r} (${Number(r) >= 0.5 ? "met" : "missed"})`;
  });
  console.log(
    `\nwith ${WEBHOOKS.length} webhooks and a file sink / without, aim >= 0.5 (the outbox must not halve throughput): ${verdicts.join(", ")}`,
  );
} finally {
  for (const child of children) child.kill();
  rmSync(dataDir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the nodes close their connections
  await database?.drop();
}
