import { performance } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { Clock } from "../core/clock.js";
import { BreakglassError } from "../core/errors.js";
import { buildApp } from "../http/app.js";
import { Metrics } from "../http/metrics.js";
import { DEFAULT_RATE_LIMITS, type RateLimits } from "../http/rate-limit-policy.js";
import { type CheckpointPolicy, DEFAULT_CHECKPOINT_POLICY } from "../services/audit/audit-checkpoints.js";
import { parseConfigSinks } from "../services/audit/sinks/sink-config.js";
import { BackupSchedule, type BackupScheduleSettings } from "../services/backup/backup-schedule.js";
import { freeLeasesOfDeadProcesses } from "../services/delivery/leases.js";
import { describeError } from "../services/delivery/transport.js";
import type { DeviceReminderSettings } from "../services/devices/device-reminders.js";
import { createServices, type ServiceSettings, type Services } from "../services/index.js";
import { NodeCondition } from "../services/node/node-condition.js";
import { StorageWriteWatch } from "../services/node/storage-write-watch.js";
import { openPostgresStore } from "../store/postgres.js";
import { openSqliteStore } from "../store/sqlite.js";
import type { StoreEvents } from "../store/store.js";
import { ServerConfigError } from "./config-error.js";
import { logOptions } from "./log-options.js";
import { type TlsMinVersion, tlsServerOptions } from "./tls.js";

export { ServerConfigError };

export interface ServerOptions {
  host: string;
  port: number;
  /** SQLite data directory; ignored with `dev` (in memory) or a database URL. */
  dataDir: string;
  /** A PostgreSQL URL: several nodes may share it. */
  databaseUrl?: string;
  dev: boolean;
  tlsCert?: string;
  tlsKey?: string;
  /** The oldest TLS version accepted (default TLS 1.2). */
  tlsMinVersion?: TlsMinVersion;
  insecureListen?: boolean;
  logLevel?: string;
  /** Where log lines go (default stdout); tests capture them to prove no secret is logged. */
  logStream?: NodeJS.WritableStream;
  /** How often the audit chain is signed (defaults: every 1000 entries, at least every 30 s). */
  auditCheckpoints?: Partial<CheckpointPolicy>;
  /** Where dev mode prints its share and root token (never through the logger). */
  announce?: (text: string) => void;
  /** How long a token from a userpass login lives (default 8 hours). */
  loginTtlSeconds?: number;
  /** How long an approval request waits for its votes (default an hour). */
  approvalRequestTtlSeconds?: number;
  /** The web UI's origin, whose host is the passkeys' relying party (docs/passkeys.md); unset: localhost only. */
  passkeyOrigin?: string;
  /** Failed attempts before a notification is a dead letter; when a destination behind is warned of. */
  delivery?: ServiceSettings["delivery"];
  /** The config file's `audit_sinks`, as read (checked here: docs/audit-sinks.md). */
  auditSinks?: unknown;
  /** Scheduled backups to a directory while unsealed (docs/backups.md). */
  backups?: BackupScheduleSettings;
  /** The drill window of the bus factor, and how often it is checked. */
  custody?: { drillWindowDays?: number; checkEveryMs?: number };
  /** The reminder window, the check-out limit, and how often devices are looked at (docs/device-reminders-and-coverage.md). */
  deviceReminders?: DeviceReminderSettings;
  /** Where the built web UI is (default dist/ui/ beside the compiled server). */
  uiDirectory?: string;
  /** Requests a minute per address and route, by group (defaults: DEFAULT_RATE_LIMITS). */
  rateLimits?: Partial<RateLimits>;
  /** Where services read the time (default the system clock): given only in process, by tests that move time; never from config or the environment. */
  clock?: Clock;
}

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
/** An outage under load fails hundreds of store calls a second, all for one cause: it is logged once this often. */
const STORE_UNAVAILABLE_LOG_MS = 10_000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const tls = Boolean(options.tlsCert || options.tlsKey);
  if (tls && !(options.tlsCert && options.tlsKey))
    throw new ServerConfigError("--tls-cert and --tls-key go together");
  if (!tls && !LOOPBACK.test(options.host) && !options.insecureListen)
    throw new ServerConfigError(
      `refusing to listen on ${options.host} without TLS: give --tls-cert and --tls-key, or --insecure-listen if a TLS proxy is in front`,
    );
  const sinks = parseConfigSinks(options.auditSinks);
  if (sinks.problems.length > 0) throw new ServerConfigError(sinks.problems.join("; "));
  const https = tls
    ? tlsServerOptions(options.tlsCert as string, options.tlsKey as string, options.tlsMinVersion ?? "tls12")
    : null;

  const logging = logOptions(options.logLevel ?? "info");
  const logger = options.logStream
    ? pino(logging, options.logStream)
    : pino({ ...logging, ...(process.stdout.isTTY ? { transport: { target: "pino-pretty" } } : {}) });
  let services: Services | null = null;
  const nodeCondition = new NodeCondition(options.clock);
  const metrics = new Metrics(
    () => services?.seal.isSealed ?? true,
    () => services?.clock ?? null,
    nodeCondition,
  );
  const rateLimits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
  const storeEvents: StoreEvents = {
    auditTransaction: (entries) => metrics.auditTransactionCommitted(entries),
    unavailable: onceEvery(STORE_UNAVAILABLE_LOG_MS, (cause, failures) =>
      logger.warn(
        { problem: describeError(cause), failures },
        "storage unavailable: answering 503 until the database is back",
      ),
    ),
  };
  const store = options.databaseUrl
    ? await openPostgresStore(options.databaseUrl, storeEvents)
    : await openSqliteStore(options.dev ? null : options.dataDir, {
        ...storeEvents,
        modesTightened: (tightened) =>
          logger.warn(
            {
              dir: options.dataDir,
              changed: tightened.map(({ path, oldMode, mode }) => ({ path, old_mode: oldMode, mode })),
            },
            "data directory permissions tightened",
          ),
      });
  const storageWrites = new StorageWriteWatch({
    condition: nodeCondition,
    log: logger,
    probe: async () => {
      await store.probeWrite();
      await store.appendAuditEntries(() => []); // through the chain's lock (and SQLite's writer), adding nothing
    },
    dataDir: options.databaseUrl || options.dev ? undefined : options.dataDir,
  });
  services = createServices(store, {
    nodeCondition,
    auditObserver: {
      batchCommitted: (seconds) => {
        storageWrites.succeeded();
        metrics.batchCommitted(seconds);
      },
      commitFailed: (error) => {
        // An unreachable database is logged once an interval by storeEvents, and health says so.
        if (!(error instanceof BreakglassError && error.code === "STORE_UNAVAILABLE"))
          storageWrites.failed(error, "audit commit");
        metrics.commitFailed();
      },
      deliveryFailed: (error) => {
        logger.error(
          { err: { message: error instanceof Error ? error.message : String(error) } },
          "a required audit sink failed: requests refused",
        );
        metrics.deliveryFailed();
      },
    },
    checkpointPolicy: { ...DEFAULT_CHECKPOINT_POLICY, ...options.auditCheckpoints },
    configSinks: sinks.specs,
    loginTtlSeconds: options.loginTtlSeconds,
    approvalRequestTtlSeconds: options.approvalRequestTtlSeconds,
    passkeyOrigin: options.passkeyOrigin,
    deliveryObserver: metrics,
    delivery: options.delivery,
    log: logger,
    custody: { ...options.custody, observer: metrics },
    deviceReminders: options.deviceReminders,
    refusalFlood: { perMinute: rateLimits.unauthenticated_refusals },
    clock: options.clock,
  });
  // A node killed before (SIGKILL, a crash) left leases behind: take its work back now.
  await freeLeasesOfDeadProcesses(store.delivery).catch((error: unknown) =>
    logger.warn({ problem: describeError(error) }, "leases of stopped processes not freed: they lapse"),
  );
  await services.auditSinkManager.start();
  await services.notifier.start();
  await services.custodians.start();
  await services.deviceReminders.start();
  await services.keyRotation.start();
  services.checkpoints.start();
  services.clock.start();
  await services.refusalFlood.start();
  const backupSchedule = options.backups
    ? new BackupSchedule(services.backup, services.seal, options.backups, logger)
    : null;
  backupSchedule?.start();
  const app = await buildApp(services, metrics, {
    logger,
    https,
    uiDirectory: options.uiDirectory,
    rateLimits,
    onStorageFault: (error) => storageWrites.failed(error, "store write"),
  });
  const devAnnouncement = options.dev ? await initialiseForDevelopment(services) : null;
  const running = services;
  const close = async () => {
    try {
      // No new connections; the requests running finish, their audit entries committed (draining.ts).
      await app.close();
      await running.refusalFlood.stop(); // the last minute's flood entries, while the store is open
      running.checkpoints.stop();
      running.clock.stop();
      await backupSchedule?.stop();
      await running.custodians.stop();
      await running.deviceReminders.stop();
      await running.keyRotation.close();
      storageWrites.stop();
      // Delivery stops: what is undelivered waits in the store for the next holder of each lease.
      await Promise.all([running.auditSinkManager.close(), running.notifier.close()]);
    } finally {
      running.seal.wipe(); // whatever failed above, no key outlives the close
      await store.close();
    }
  };
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    // The timers and connections started above would keep the process alive, serving nothing.
    await close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `${tls ? "https" : "http"}://${host}:${port}`;
  if (devAnnouncement) (options.announce ?? ((text) => process.stderr.write(text)))(devAnnouncement(url));
  return { app, services: running, url, close };
}

/**
 * --dev: one share, unsealed at once, everything in memory. Loud, because it is not for real seeds.
 * Returns the announcement, said once the address is known (the port may have been 0).
 */
async function initialiseForDevelopment(services: Services): Promise<(url: string) => string> {
  const ctx = {
    actor: null,
    requestId: "dev-mode-start",
    remoteAddr: null,
    userAgent: "breakglass server --dev",
  };
  const { shares, rootToken } = await services.seal.initialize({ secretShares: 1, secretThreshold: 1 }, ctx);
  const share = Buffer.from(shares[0] as Uint8Array).toString("hex");
  await services.seal.submitShare({ key: share }, ctx);
  return (url) =>
    [
      "",
      "WARNING: dev mode. Everything is in memory and lost at exit; the share and root token are printed here.",
      "Never put a real seed into a dev server. It has one share and one custodian: no bus factor to speak of.",
      "",
      `Unseal key: ${share}`,
      `Root token: ${rootToken}`,
      "",
      `  export BREAKGLASS_ADDR=${url}`,
      `  export BREAKGLASS_TOKEN=${rootToken}`,
      "",
    ].join("\n");
}

/** `report` at most once every `ms`: the cause at hand, and how many failures there were since the last report (this one included). */
function onceEvery(ms: number, report: (cause: unknown, failures: number) => void): (cause: unknown) => void {
  let reportedAt = Number.NEGATIVE_INFINITY;
  let failures = 0;
  return (cause) => {
    failures += 1;
    if (performance.now() - reportedAt < ms) return;
    reportedAt = performance.now();
    report(cause, failures);
    failures = 0;
  };
}
