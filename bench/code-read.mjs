// npm run bench: code reads per second and latency for GET /v1/totp/code/:name with its durable
// audit entry, beside a bare node:http server doing the same HMAC, measured in the same run.
// Prints figures and the ratio; asserts nothing (the machine is shared and noisy).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const here = new URL(".", import.meta.url).pathname;

function startServer(args) {
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean), join(here, "servers.mjs"), ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (url) => resolve({ url, child }));
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

/** CONNECTIONS closed loops, each sending the next request when the last answered. */
async function load(url, path, token, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
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

async function measure(name, url, path, token) {
  await load(url, path, token, WARMUP_SECONDS);
  const result = await load(url, path, token, SECONDS);
  console.log(
    `${name.padEnd(34)} ${result.perSecond.toFixed(0).padStart(7)} reads/s   p50 ${result.p50.toFixed(2).padStart(6)} ms   p99 ${result.p99.toFixed(2).padStart(6)} ms   (${result.requests} requests, ${result.failures} failed)`,
  );
  return result;
}

const dataDir = mkdtempSync(join(tmpdir(), "breakglass-bench-"));
const breakglass = await startServer(["breakglass", dataDir]);
const baseline = await startServer(["baseline"]);
try {
  const agent = new Agent({ keepAlive: true });
  const init = JSON.parse(
    (
      await call(agent, breakglass.url, "PUT", "/v1/sys/init", {
        body: { secret_shares: 1, secret_threshold: 1 },
      })
    ).text,
  );
  await call(agent, breakglass.url, "PUT", "/v1/sys/unseal", { body: { key: init.keys[0] } });
  await call(agent, breakglass.url, "POST", "/v1/totp/keys/bench", {
    token: init.root_token,
    body: { key: "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" },
  });
  const reader = JSON.parse(
    (
      await call(agent, breakglass.url, "POST", "/v1/auth/token/create", {
        token: init.root_token,
        body: { policies: ["totp-reader"] },
      })
    ).text,
  );
  agent.destroy();

  console.log(
    `code reads, ${CONNECTIONS} connections, ${SECONDS} s each after ${WARMUP_SECONDS} s warm-up, ${new Date().toISOString()}`,
  );
  const base = await measure("baseline (bare node:http + HMAC)", baseline.url, "/", undefined);
  const real = await measure(
    "breakglass (audited, fsync)",
    breakglass.url,
    "/v1/totp/code/bench?reason=bench",
    reader.auth.client_token,
  );
  const metrics = (await call(new Agent(), breakglass.url, "GET", "/metrics")).text;
  const batches = Number(metrics.match(/^breakglass_audit_transaction_entries_count (\d+)/m)?.[1]);
  const entries = Number(metrics.match(/^breakglass_audit_transaction_entries_sum (\d+)/m)?.[1]);
  console.log(
    `ratio breakglass/baseline reads/s: ${(real.perSecond / base.perSecond).toFixed(2)}   (aim >= 0.5)`,
  );
  console.log(`breakglass p99: ${real.p99.toFixed(2)} ms   (aim <= 25 ms)`);
  const commitSeconds = Number(metrics.match(/^breakglass_audit_commit_seconds_sum ([\d.e-]+)/m)?.[1]);
  const flushes = Number(metrics.match(/^breakglass_audit_commit_seconds_count (\d+)/m)?.[1]);
  console.log(
    `audit group commit: ${entries} entries in ${batches} transactions (${(entries / batches).toFixed(1)} per fsync); ${((commitSeconds / flushes) * 1000).toFixed(2)} ms from hand-over to durable`,
  );
} finally {
  breakglass.child.kill();
  baseline.child.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
