// Worker thread that appends audit entries to the SQLite file on its own connection, so the
// fsync of a commit does not block the server's event loop. Group commit happens here: every
// batch that queued up while the previous transaction was being made durable is written in
// the next single transaction (one fsync). Plain CommonJS so that it runs unchanged from src/
// (tests) and dist/ (the built server).
const { parentPort, receiveMessageOnPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);

const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");

const readHead = db.prepare("select seq, hash from audit_entries order by seq desc limit 1");
const insert = db.prepare(
  `insert into audit_entries (seq, time, actor, action, target, outcome, reason, request_id, remote_addr,
     user_agent, approval_ids, details, prev_hash, hash, token, token_name)
   values (@seq, @time, @actor, @action, @target, @outcome, @reason, @request_id, @remote_addr,
     @user_agent, @approval_ids, @details, @prev_hash, @hash, @token, @token_name)`,
);

const sameHead = (a, b) => (a === null ? b === null : b !== null && a.seq === b.seq && a.hash === b.hash);

// Each batch was linked by the main thread to the head it expected; a batch whose expected head is
// not the true head (an earlier batch failed, or another writer got in) is refused, so the chain
// never forks. "immediate" takes the write lock before the head is read.
const appendBatches = db.transaction((batches) => {
  const stored = readHead.get();
  let head = stored ? { seq: Number(stored.seq), hash: stored.hash } : null;
  return batches.map(({ id, rows, expectedHead }) => {
    if (!sameHead(head, expectedHead))
      return { id, ok: false, message: "the audit chain head moved under this writer" };
    for (const row of rows) insert.run(row);
    const last = rows.at(-1);
    if (last) head = { seq: last.seq, hash: last.hash };
    return { id, ok: true };
  });
});

parentPort.on("message", (first) => {
  const batches = [first];
  for (let next = receiveMessageOnPort(parentPort); next; next = receiveMessageOnPort(parentPort))
    batches.push(next.message);
  let results;
  try {
    results = appendBatches.immediate(batches);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results = batches.map(({ id }) => ({ id, ok: false, message }));
  }
  const committed = results.reduce((sum, result, i) => sum + (result.ok ? batches[i].rows.length : 0), 0);
  parentPort.postMessage({ results, committed });
});
