// The servers the benchmark compares, each run in its own process:
//   node bench/servers.mjs breakglass --data DIR          — the real server (dist/), SQLite, durable audit
//   node bench/servers.mjs breakglass --database URL      — the real server on PostgreSQL (several may share URL)
//   node bench/servers.mjs baseline                       — a bare node:http server computing the same HMAC-based code
//   node bench/servers.mjs receiver                       — notification webhooks' receiver: 200 to every POST, counted
// Each prints its URL on stdout, on a line of its own (the server logs there too, at the default
// level, info, unless BENCH_LOG_LEVEL says otherwise: what a code read costs includes its log lines).
import { createHmac } from "node:crypto";
import { createServer } from "node:http";

const [kind, storageFlag, location] = process.argv.slice(2);
process.on("SIGTERM", () => process.exit(0)); // a clean exit, so --cpu-prof can write its profile

if (kind === "breakglass") {
  const { startServer } = await import("../dist/server/start.js");
  const storage =
    storageFlag === "--database" ? { dataDir: "unused", databaseUrl: location } : { dataDir: location };
  const logLevel = process.env.BENCH_LOG_LEVEL ?? "info";
  const server = await startServer({ host: "127.0.0.1", port: 0, ...storage, dev: false, logLevel });
  process.stdout.write(`${server.url}\n`);
} else if (kind === "baseline") {
  const seed = Buffer.from("12345678901234567890");
  const server = createServer((_request, response) => {
    // RFC 4226 dynamic truncation over HMAC-SHA1 of the current 30 s step: the same work a code read does.
    const step = Math.floor(Date.now() / 30000);
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = createHmac("sha1", seed).update(counter).digest();
    const offset = mac[mac.length - 1] & 0xf;
    const code = String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ data: { code, period: 30, step, expires_at: (step + 1) * 30 } }));
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
} else if (kind === "receiver") {
  // Counts POSTs per path (one path per webhook) and distinct X-Breakglass-Event-Id values (a
  // redelivery is counted once there); any other method answers the counts as JSON.
  const received = new Map();
  const server = createServer((request, response) => {
    if (request.method !== "POST") {
      const counts = Object.fromEntries(
        [...received].map(([path, { posts, ids }]) => [path, { posts, distinct: ids.size }]),
      );
      response.setHeader("content-type", "application/json");
      return response.end(JSON.stringify(counts));
    }
    request.resume(); // the body is not read: the count is what the benchmark wants, at the least cost
    request.once("end", () => {
      if (!received.has(request.url)) received.set(request.url, { posts: 0, ids: new Set() });
      const path = received.get(request.url);
      path.posts++;
      const id = request.headers["x-breakglass-event-id"];
      if (id) path.ids.add(id);
      response.end();
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
} else {
  process.stderr.write(
    "usage: servers.mjs breakglass --data DIR | breakglass --database URL | baseline | receiver\n",
  );
  process.exit(2);
}
