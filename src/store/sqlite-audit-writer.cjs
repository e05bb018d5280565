// Worker thread that appends audit entries to the SQLite file on its own connection, so the
// fsync of a commit does not block the server's event loop: while one batch is being made
// durable, the next batch gathers (group commit). Plain CommonJS so that it runs unchanged from
// src/ (tests) and dist/ (the built server).
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);

const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");

const readHead = db.prepare("select seq, hash from audit_entries order by seq desc limit 1");
const insert = db.prepare(
  `insert into audit_entries (seq, time, actor, action, target, outcome, reason, request_id, remote_addr,
     user_agent, approval_ids, details, prev_hash, hash)
   values (@seq, @time, @actor, @action, @target, @outcome, @reason, @request_id, @remote_addr,
     @user_agent, @approval_ids, @details, @prev_hash, @hash)`,
);

// "immediate" takes the write lock before reading the head, so no other writer can slip in between.
const append = db.transaction((rows, expectedHead) => {
  const head = readHead.get() ?? null;
  const same =
    head === null
      ? expectedHead === null
      : expectedHead !== null && Number(head.seq) === expectedHead.seq && head.hash === expectedHead.hash;
  if (!same) throw new Error("the audit chain head moved under this writer");
  for (const row of rows) insert.run(row);
});

parentPort.on("message", ({ id, rows, expectedHead }) => {
  try {
    append.immediate(rows, expectedHead);
    parentPort.postMessage({ id, ok: true });
  } catch (error) {
    parentPort.postMessage({
      id,
      ok: false,
      message: error instanceof Error ? error.message : String(error),
    });
  }
});
