// npm run bench:large: a large vault (default 100,000 credentials and 1,000,000 audit entries, on
// SQLite) as a restarted server meets it: the time from the unsealing share to the first code
// served, and the memory it holds while serving codes of many credentials; then a backup through
// GET /v1/sys/backup, `breakglass backup verify` of the file beside sha256sum, its restore into a
// fresh server (upload + staging) and the unseal that applies it. The vault is a real one (init,
// unseal); the bulk rows are inserted directly: seeds sealed with its data key, audit entries
// linked after its head with checkpoints signed by its key, so everything verifies.
// Prints figures; asserts nothing.  BENCH_CREDENTIALS and BENCH_AUDIT_ENTRIES change the sizes.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import Database from "better-sqlite3";
import { chainEntries } from "../dist/core/audit-chain.js";
import { checkpointFields, signingKeyFromSeed } from "../dist/core/audit-checkpoint.js";
import { startServer } from "../dist/server/start.js";
import { seedAad } from "../dist/services/totp/totp.js";
import { auditEntryInserter, codeReadEntry } from "./audit-fixture.mjs";

const CREDENTIALS = Number(process.env.BENCH_CREDENTIALS ?? 100_000);
const AUDIT_ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000);
const CHECKPOINT_EVERY = 1000;
const UNSEAL_RESTARTS = 3;
const DISTINCT_READS = Math.min(CREDENTIALS, 20_000);
const here = new URL(".", import.meta.url).pathname;
const bin = join(here, "..", "bin", "breakglass");
const dir = mkdtempSync(join(tmpdir(), "breakglass-bench-backup-"));
const seconds = (since) => ((performance.now() - since) / 1000).toFixed(2);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

/** `breakglass server` as a child process; its resident memory is read from /proc before it stops. */
async function serverProcess(data) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, "server", "--data", data, "--listen", `127.0.0.1:${port}`, "--log-level", "warn"],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    try {
      await fetch(`${url}/v1/sys/health`);
      break;
    } catch {
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
  const status = (field) => {
    const line = readFileSync(`/proc/${child.pid}/status`, "utf8").match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, "m"),
    );
    return line ? Number(line[1]) * 1024 : 0;
  };
  return {
    url,
    rss: () => status("VmRSS"),
    peakRss: () => status("VmHWM"),
    stop: async () => {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

async function call(url, method, path, body, token) {
  const response = await fetch(url + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { "X-Vault-Token": token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

try {
  // 1. A real vault, initialised and unsealed in this process (its keys seal the bulk rows).
  const data = join(dir, "source");
  const first = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir: data,
    dev: false,
    logLevel: "silent",
  });
  const init = await call(first.url, "PUT", "/v1/sys/init", { secret_shares: 1, secret_threshold: 1 });
  const [share] = init.keys;
  const token = init.root_token;
  await call(first.url, "PUT", "/v1/sys/unseal", { key: share });
  const { seal } = first.services;
  const signingKey = signingKeyFromSeed(seal.box.keyringOrThrow().auditSigningSeed);

  let t = performance.now();
  const db = new Database(join(data, "breakglass.sqlite"));
  db.pragma("busy_timeout = 10000");
  const insertKey = db.prepare(
    `insert into totp_keys (name, issuer, account_name, algorithm, digits, period, skew, seed_ciphertext,
       key_version, generated, created_at, created_by, last_accepted_step)
     values (?, 'ACME', 'root', 'SHA1', 6, 30, 1, ?, ?, 0, ?, 'bench', null)`,
  );
  const now = new Date().toISOString();
  db.transaction(() => {
    for (let i = 0; i < CREDENTIALS; i++) {
      const name = `aws-account-${String(i).padStart(6, "0")}-root`;
      const { ciphertext, keyVersion } = seal.box.sealSecret(randomBytes(20), seedAad(name));
      insertKey.run(name, ciphertext.toString("base64"), keyVersion, now);
    }
  })();
  const insertEntry = auditEntryInserter(db);
  const readHead = db.prepare("select seq, hash from audit_entries order by seq desc limit 1");
  const appendBatch = db.transaction((fields) => {
    const head = readHead.get();
    const entries = chainEntries(head ? { seq: Number(head.seq), hash: head.hash } : null, fields);
    for (const entry of entries) insertEntry(entry);
    return entries.length;
  });
  for (let written = 0; written < AUDIT_ENTRIES; ) {
    const batch = [];
    for (let i = 0; i < CHECKPOINT_EVERY - 1 && written + batch.length < AUDIT_ENTRIES - 1; i++)
      batch.push(
        codeReadEntry(
          written + i,
          `totp/keys/aws-account-${String((written + i) % CREDENTIALS).padStart(6, "0")}-root`,
        ),
      );
    batch.push((previous) => checkpointFields(previous, new Date().toISOString(), signingKey));
    written += appendBatch.immediate(batch);
  }
  db.close();
  await first.close();
  console.log(
    `data set: ${CREDENTIALS} credentials, ${AUDIT_ENTRIES} audit entries, made in ${seconds(t)} s (${mb(statSync(join(data, "breakglass.sqlite")).size)} SQLite file)`,
  );

  // 2. A restart: the server comes back sealed; from the unsealing share to the first code served.
  const codeOf = (i) => `/v1/totp/code/aws-account-${String(i).padStart(6, "0")}-root?reason=bench`;
  for (let restart = 1; restart <= UNSEAL_RESTARTS; restart++) {
    const server = await serverProcess(data);
    const sealedRss = server.rss();
    t = performance.now();
    await call(server.url, "PUT", "/v1/sys/unseal", { key: share });
    const unsealMs = performance.now() - t;
    for (;;) {
      const read = await fetch(server.url + codeOf(restart), { headers: { "X-Vault-Token": token } });
      if (read.status === 200) break;
    }
    const servingMs = performance.now() - t;
    console.log(
      `restart ${restart}: unseal answered in ${unsealMs.toFixed(0)} ms, first code served ${servingMs.toFixed(0)} ms after the share was sent (aim <= 200 ms); RSS sealed ${mb(sealedRss)}`,
    );
    if (restart < UNSEAL_RESTARTS) {
      await server.stop();
      continue;
    }
    // Then codes of many different credentials, each opened once (row, seed): what the caches hold.
    t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < DISTINCT_READS) {
          const i = next++;
          const read = await fetch(server.url + codeOf((i * 7919) % CREDENTIALS), {
            headers: { "X-Vault-Token": token },
          });
          if (read.status !== 200) throw new Error(`code read: ${read.status} ${await read.text()}`);
        }
      }),
    );
    const readSeconds = (performance.now() - t) / 1000;
    console.log(
      `${DISTINCT_READS} codes of different credentials: ${(DISTINCT_READS / readSeconds).toFixed(0)} reads/s; RSS then ${mb(server.rss())}, peak ${mb(server.peakRss())} (aim <= 150 MB)`,
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const metric = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)`, "m"))?.[1]);
    console.log(
      `  of which the JavaScript heap: ${mb(metric("nodejs_heap_size_used_bytes"))} in use of ${mb(metric("nodejs_heap_size_total_bytes"))} reserved; buffers ${mb(metric("nodejs_external_memory_bytes"))}`,
    );
    await server.stop();
  }

  // 3. Backup, from a server process on that data.
  const source = await serverProcess(data);
  await call(source.url, "PUT", "/v1/sys/unseal", { key: share });
  const file = join(dir, "vault.bgbackup");
  t = performance.now();
  const response = await fetch(`${source.url}/v1/sys/backup`, { headers: { "X-Vault-Token": token } });
  if (response.status !== 200) throw new Error(`backup: ${response.status} ${await response.text()}`);
  await pipeline(Readable.fromWeb(response.body), createWriteStream(file));
  const backupSeconds = seconds(t);
  const size = statSync(file).size;
  console.log(
    `backup (GET /v1/sys/backup to a file)      ${backupSeconds} s   ${mb(size)}   server peak RSS ${mb(source.peakRss())}`,
  );
  const keyPem = (await call(source.url, "GET", "/v1/audit/public-key")).data.public_key_pem;
  await source.stop();
  writeFileSync(join(dir, "audit.pem"), keyPem);

  // 4. Verify offline.
  t = performance.now();
  const verify = spawnSync(
    process.execPath,
    [bin, "backup", "verify", file, "--public-key", join(dir, "audit.pem")],
    {
      encoding: "utf8",
    },
  );
  if (verify.status !== 0) throw new Error(`verify failed: ${verify.stderr}`);
  console.log(`breakglass backup verify --public-key      ${seconds(t)} s`);
  t = performance.now();
  spawnSync("sha256sum", [file]);
  console.log(`  (sha256sum of the same file:             ${seconds(t)} s)`);

  // 5. Restore into a fresh server: upload and staging, then the unseal that applies it.
  const target = await serverProcess(join(dir, "target"));
  t = performance.now();
  const restored = await fetch(`${target.url}/v1/sys/restore`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: Readable.toWeb(createReadStream(file)),
    duplex: "half",
  });
  if (restored.status !== 200) throw new Error(`restore: ${restored.status} ${await restored.text()}`);
  console.log(`restore (POST /v1/sys/restore: upload + staging)  ${seconds(t)} s`);
  t = performance.now();
  const unsealed = await call(target.url, "PUT", "/v1/sys/unseal", { key: share });
  if (unsealed.sealed) throw new Error("the restored server did not unseal");
  console.log(
    `apply at unseal (PUT /v1/sys/unseal)       ${seconds(t)} s   server peak RSS ${mb(target.peakRss())}`,
  );
  const code = await call(target.url, "GET", "/v1/totp/code/aws-account-000042-root", undefined, token);
  console.log(`a code from the restored server: ${code.data.code}`);
  await target.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
