// Worker thread that runs SQL on a connection of its own to the SQLite file, for the Kysely dialect
// in sqlite-thread-dialect.ts: a statement that must wait for the write lock (the audit writer
// holds it while it commits) waits here, not on the server's event loop. Plain CommonJS so that it
// runs unchanged from src/ (tests) and dist/ (the built server).
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);

const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");
db.pragma("foreign_keys = ON");

/** Prepared once per SQL text: the same few statements come again and again (a list's length can vary them: capped). */
const statements = new Map();
const MOST_STATEMENTS = 200;

parentPort.on("message", ({ id, sql, parameters }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (statements.size >= MOST_STATEMENTS) statements.clear();
      statements.set(sql, statement);
    }
    if (statement.reader) parentPort.postMessage({ id, ok: true, rows: statement.all(parameters) });
    else {
      const { changes } = statement.run(parameters);
      parentPort.postMessage({ id, ok: true, rows: [], changes });
    }
  } catch (error) {
    const code = typeof error.code === "string" ? error.code : undefined;
    parentPort.postMessage({ id, ok: false, message: String(error.message), code });
  }
});
