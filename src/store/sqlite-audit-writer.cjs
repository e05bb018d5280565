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

const insertEvent = db.prepare(
  "insert into notification_outbox (seq, time, event) values (@seq, @time, @event)",
);

const sameHead = (a, b) => (a === null ? b === null : b !== null && a.seq === b.seq && a.hash === b.hash);
const headKey = (head) => (head === null ? "" : `${head.seq}:${head.hash}`);

// Heads that batches were linked up to but that never reached the file, with why. A batch linked
// on one of them was linked after a failed batch, before the main thread heard of the failure: it
// fails for that same cause (a full disk, say), not because another writer moved the head.
const failedHeads = new Map();

function failure(batch, error) {
  const code = typeof error.code === "string" ? error.code : undefined;
  return { id: batch.id, ok: false, message: error.message, code };
}

const headAfter = (batch) => {
  const last = batch.rows.at(-1);
  return last ? { seq: last.seq, hash: last.hash } : batch.expectedHead;
};

// Each batch was linked by the main thread to the head it expected; a batch whose expected head is
// not the true head is refused, so the chain never forks. "immediate" takes the write lock before
// the head is read.
const appendBatches = db.transaction((batches) => {
  const stored = readHead.get();
  let head = stored ? { seq: Number(stored.seq), hash: stored.hash } : null;
  return batches.map((batch) => {
    if (!sameHead(head, batch.expectedHead)) {
      const refused =
        failedHeads.get(headKey(batch.expectedHead)) ??
        failure(batch, { message: "the audit chain head moved under this writer", code: "AUDIT_HEAD_MOVED" });
      failedHeads.set(headKey(headAfter(batch)), refused); // a batch linked on this one may be next in this group
      return refused;
    }
    for (const row of batch.rows) insert.run(row);
    for (const event of batch.outbox) insertEvent.run(event);
    const last = batch.rows.at(-1);
    if (last) head = { seq: last.seq, hash: last.hash };
    return { id: batch.id, ok: true };
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
    results = batches.map((batch) =>
      failure(batch, error instanceof Error ? error : { message: String(error) }),
    );
  }
  let committed = 0;
  results.forEach((result, i) => {
    if (result.ok) committed += batches[i].rows.length;
    else failedHeads.set(headKey(headAfter(batches[i])), { ...result, id: undefined });
  });
  // Batches are posted in the order they were linked: once one commits, none still to come was
  // linked on a failed one.
  if (committed > 0) failedHeads.clear();
  parentPort.postMessage({
    results: results.map((result, i) => ({ ...result, id: batches[i].id })),
    committed,
  });
});
