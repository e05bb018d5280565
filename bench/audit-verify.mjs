// npm run bench:audit: `breakglass audit verify` on a large export (default 1,000,000 entries,
// a signed checkpoint every 1000), beside `sha256sum` of the same file, timed in the same run;
// then the same entries in a SQLite store, and how long the searches of GET /v1/audit take there.
// Prints figures; asserts nothing.  BENCH_AUDIT_ENTRIES changes the size.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { auditLine, chainEntries } from "../dist/core/audit-chain.js";
import {
  checkpointFields,
  publicKeyFromSeed,
  publicKeyPem,
  signingKeyFromSeed,
} from "../dist/core/audit-checkpoint.js";
import { openSqliteStore } from "../dist/store/sqlite.js";
import { auditEntryInserter, codeReadEntry } from "./audit-fixture.mjs";

const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000);
const CHECKPOINT_EVERY = 1000;
const here = new URL(".", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "breakglass-bench-audit-"));
const file = join(dir, "audit.jsonl");
const keyFile = join(dir, "audit.pem");

function timed(command, args) {
  const started = performance.now();
  const run = spawnSync(command, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`${command} failed (${run.status}): ${run.stderr}`);
  return { seconds, output: run.stdout.trim() };
}

try {
  const seed = randomBytes(32);
  writeFileSync(keyFile, publicKeyPem(publicKeyFromSeed(seed)));
  const privateKey = signingKeyFromSeed(seed);
  const out = createWriteStream(file);
  const store = await openSqliteStore(join(dir, "data"));
  const db = new Database(join(dir, "data", "breakglass.sqlite"));
  const insert = auditEntryInserter(db);
  const insertAll = db.transaction((entries) => {
    for (const entry of entries) insert(entry);
  });
  let head = null;
  const started = performance.now();
  for (let written = 0; written < ENTRIES; ) {
    const batch = [];
    for (let i = 0; i < CHECKPOINT_EVERY - 1 && written + batch.length < ENTRIES - 1; i++) {
      batch.push(codeReadEntry(written + i, `totp/keys/aws-account-${(written + i) % 5000}-root`));
    }
    batch.push((previous) => checkpointFields(previous, new Date().toISOString(), privateKey));
    const entries = chainEntries(head, batch);
    head = entries.at(-1);
    written += entries.length;
    insertAll(entries);
    if (!out.write(`${entries.map(auditLine).join("\n")}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const megabytes = statSync(file).size / 1e6;
  console.log(
    `export of ${ENTRIES} entries, ${megabytes.toFixed(0)} MB, made in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const sha = timed("sha256sum", [file]);
  console.log(`sha256sum                                  ${sha.seconds.toFixed(2)} s`);
  const verify = timed(process.execPath, [
    join(here, "..", "bin", "breakglass"),
    "audit",
    "verify",
    "--file",
    file,
    "--public-key",
    keyFile,
  ]);
  console.log(
    `breakglass audit verify --file --public-key ${verify.seconds.toFixed(2)} s   (${(ENTRIES / verify.seconds / 1000).toFixed(0)}k entries/s)`,
  );
  console.log(`ratio verify / sha256sum: ${(verify.seconds / sha.seconds).toFixed(1)}`);
  console.log(verify.output.split("\n").slice(-1)[0]);

  // The searches of GET /v1/audit, through the store, on the same entries.
  db.close();
  const searches = {
    "a page of 1000, oldest first": { limit: 1000 },
    "a page deep in the log (after=900000)": { afterSeq: Math.floor(ENTRIES * 0.9), limit: 1000 },
    "one target (about 200 entries)": { target: "totp/keys/aws-account-42-root", limit: 1000 },
    "one action, a time range": {
      action: "audit.checkpoint",
      since: new Date(1_795_000_000_000 + 500_000).toISOString(),
      limit: 1000,
    },
    "outcome=denied (none)": { outcome: "denied", limit: 1000 },
    "reason contains text (scan)": { reasonContains: "inc-777777 on-call", limit: 1000 },
  };
  console.log(
    `\nsearches over ${ENTRIES} entries (SQLite, indexes on time, actor, target, action, outcome):`,
  );
  for (const [name, filter] of Object.entries(searches)) {
    await store.listAuditEntries(filter); // warm the page cache
    const started = performance.now();
    const found = await store.listAuditEntries(filter);
    console.log(
      `  ${name.padEnd(42)} ${(performance.now() - started).toFixed(1).padStart(8)} ms   ${found.length} entries`,
    );
  }
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
