import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Command, Option } from "commander";
import { DEFAULT_RATE_LIMITS, type RateLimits } from "../../http/rate-limit-policy.js";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, stopOnSignals } from "../../server/shutdown.js";
import { TLS_MIN_VERSIONS, type TlsMinVersion } from "../../server/tls.js";
import { DEFAULT_ADDR } from "../client.js";
import { CliError, usageError } from "../output.js";

/**
 * `breakglass server`. Settings come from, in order of precedence: flags, environment variables,
 * the JSON config file (--config / BREAKGLASS_CONFIG), then the defaults. Paths in the config file
 * are relative to the file itself, so a config file means the same thing from any directory.
 */

interface ServerSettings {
  listen: string;
  data: string;
  database?: string;
  tls_cert?: string;
  tls_key?: string;
  /** "tls12" (default) or "tls13", as Vault's listener says it. */
  tls_min_version?: TlsMinVersion;
  insecure_listen?: boolean;
  log_level?: string;
  /** Checked by the server at start (docs/audit-sinks.md). */
  audit_sinks?: Record<string, unknown>;
  /** Sign the audit chain after this many entries (default 1000)… */
  audit_checkpoint_entries?: number;
  /** …and at least this often, in seconds, while entries are unsigned (default 30). */
  audit_checkpoint_seconds?: number;
  /** How long a token from a userpass login lives (default 8 hours). */
  login_ttl_seconds?: number;
  /** How long an approval request waits for its votes before it expires (default an hour). */
  approval_request_ttl_seconds?: number;
  /** Scheduled backups go to this directory while unsealed (docs/backups.md)… */
  backup_dir?: string;
  /** …every this many seconds (default a day)… */
  backup_interval_seconds?: number;
  /** …keeping this many of the newest (default 14). */
  backup_keep?: number;
  /** A custodian's drill counts for this many days in the bus factor (default 90). */
  custodian_drill_window_days?: number;
  /** How often the bus factor is checked and notified on change, in seconds (default 3600). */
  custody_check_seconds?: number;
  /** A device's battery or review due within this many days is reminded of (default 30)… */
  device_reminder_days?: number;
  /** …and a device checked out for longer than this many hours (default 24)… */
  device_checkout_limit_hours?: number;
  /** …looked for this often, in seconds (default 3600). */
  device_reminder_check_seconds?: number;
  /** Requests a minute per address and route, by group (docs/operations.md). */
  rate_limits?: Partial<RateLimits>;
  /** How long a SIGTERM waits for requests and deliveries to finish before giving up (default 10). */
  shutdown_timeout_seconds?: number;
  /** Failed attempts before a notification becomes a dead letter (default 12; env BREAKGLASS_DELIVERY_MAX_ATTEMPTS). */
  delivery_max_attempts?: number;
  /** `status` warns of a destination whose oldest undelivered item is older than this (default 300). */
  delivery_warn_after_seconds?: number;
  /** This node's name, kept across restarts: a file sink's position is this node's (default the host name). */
  node_name?: string;
  /** The web UI's origin (https://breakglass.example.com): its host is the passkeys' relying party (docs/passkeys.md). */
  passkey_origin?: string;
}

const DEFAULTS = { listen: "127.0.0.1:8470", data: "./breakglass-data" };
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const FILE_KEYS = [
  "listen",
  "data",
  "database",
  "tls_cert",
  "tls_key",
  "tls_min_version",
  "insecure_listen",
  "log_level",
  "audit_sinks",
  "audit_checkpoint_entries",
  "audit_checkpoint_seconds",
  "login_ttl_seconds",
  "approval_request_ttl_seconds",
  "backup_dir",
  "backup_interval_seconds",
  "backup_keep",
  "custodian_drill_window_days",
  "custody_check_seconds",
  "device_reminder_days",
  "device_checkout_limit_hours",
  "device_reminder_check_seconds",
  "rate_limits",
  "shutdown_timeout_seconds",
  "delivery_max_attempts",
  "delivery_warn_after_seconds",
  "node_name",
  "passkey_origin",
];
const NUMBER_KEYS: Record<string, [number, number]> = {
  audit_checkpoint_entries: [1, 1_000_000],
  audit_checkpoint_seconds: [1, 3600],
  login_ttl_seconds: [60, 7 * 24 * 3600],
  approval_request_ttl_seconds: [60, 7 * 24 * 3600],
  backup_interval_seconds: [1, 366 * 24 * 3600],
  backup_keep: [1, 10_000],
  custodian_drill_window_days: [1, 3650],
  custody_check_seconds: [1, 86_400],
  device_reminder_days: [1, 3650],
  device_checkout_limit_hours: [1, 8760],
  device_reminder_check_seconds: [1, 86_400],
  shutdown_timeout_seconds: [1, 3600],
  delivery_max_attempts: [1, 1000],
  delivery_warn_after_seconds: [10, 30 * 86_400],
};
const RATE_LIMIT_RANGE = [1, 1_000_000] as const;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PATH_KEYS = ["data", "tls_cert", "tls_key", "backup_dir"];
const BACKUP_DEFAULTS = { intervalSeconds: 24 * 3600, keep: 14 };

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("run the breakglass server (logs as JSON lines on stdout)")
    .addOption(withEnv("--listen <host:port>", `address (default ${DEFAULTS.listen})`, "BREAKGLASS_LISTEN"))
    .addOption(withEnv("--data <dir>", `SQLite data directory (default ${DEFAULTS.data})`, "BREAKGLASS_DATA"))
    .addOption(
      withEnv(
        "--database <url>",
        "PostgreSQL URL instead of SQLite (postgres://…)",
        "BREAKGLASS_DATABASE_URL",
      ),
    )
    .addOption(
      withEnv("--config <file>", `JSON config file with keys ${FILE_KEYS.join(", ")}`, "BREAKGLASS_CONFIG"),
    )
    .option("--dev", "in memory, initialised and unsealed at start: for trying things out, never real seeds")
    .addOption(withEnv("--tls-cert <file>", "TLS certificate (PEM)", "BREAKGLASS_TLS_CERT"))
    .addOption(withEnv("--tls-key <file>", "TLS private key (PEM)", "BREAKGLASS_TLS_KEY"))
    .option("--insecure-listen", "allow a non-loopback address without TLS (a TLS proxy is in front)")
    .addOption(
      withEnv("--log-level <level>", "log level (default info)", "BREAKGLASS_LOG_LEVEL").choices(LOG_LEVELS),
    )
    .addHelpText(
      "after",
      "\nPrecedence: flags, then environment variables, then the config file, then defaults.",
    )
    .action(async (options) => {
      const settings = resolveSettings(options);
      if (settings.database && !/^postgres(ql)?:\/\//.test(settings.database))
        throw usageError("--database must be a PostgreSQL URL such as postgres://user@host:5432/breakglass");
      await runServer(settings, Boolean(options.dev));
    });
}

const withEnv = (flags: string, description: string, variable: string) =>
  new Option(flags, description).env(variable);

function resolveSettings(flags: Record<string, string | boolean | undefined>): ServerSettings {
  const file = flags.config ? readConfigFile(String(flags.config)) : {};
  const pick = (flag: string, key: keyof ServerSettings) => flags[flag] ?? file[key];
  const settings = {
    listen: String(pick("listen", "listen") ?? DEFAULTS.listen),
    data: String(pick("data", "data") ?? DEFAULTS.data),
    database: pick("database", "database") as string | undefined,
    tls_cert: pick("tlsCert", "tls_cert") as string | undefined,
    tls_key: pick("tlsKey", "tls_key") as string | undefined,
    insecure_listen: Boolean(pick("insecureListen", "insecure_listen")),
    log_level: pick("logLevel", "log_level") as string | undefined,
    audit_sinks: file.audit_sinks,
    audit_checkpoint_entries: file.audit_checkpoint_entries,
    audit_checkpoint_seconds: file.audit_checkpoint_seconds,
    login_ttl_seconds: file.login_ttl_seconds,
    approval_request_ttl_seconds: file.approval_request_ttl_seconds,
    backup_dir: file.backup_dir,
    backup_interval_seconds: file.backup_interval_seconds,
    backup_keep: file.backup_keep,
    custodian_drill_window_days: file.custodian_drill_window_days,
    custody_check_seconds: file.custody_check_seconds,
    device_reminder_days: file.device_reminder_days,
    device_checkout_limit_hours: file.device_checkout_limit_hours,
    device_reminder_check_seconds: file.device_reminder_check_seconds,
    tls_min_version: file.tls_min_version,
    rate_limits: file.rate_limits,
    shutdown_timeout_seconds: file.shutdown_timeout_seconds,
    delivery_max_attempts: file.delivery_max_attempts ?? maxAttemptsFromEnv(),
    delivery_warn_after_seconds: file.delivery_warn_after_seconds,
    node_name: file.node_name,
    passkey_origin: file.passkey_origin,
  };
  if (settings.passkey_origin !== undefined && !isWebOrigin(settings.passkey_origin))
    throw usageError(
      "passkey_origin must be the web UI's origin: https://HOST or https://HOST:PORT (http:// only for localhost), no path",
    );
  if (settings.node_name !== undefined && !NODE_NAME.test(String(settings.node_name)))
    throw usageError(
      "node_name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  if (settings.log_level !== undefined && !LOG_LEVELS.includes(settings.log_level))
    throw usageError(`log_level must be one of ${LOG_LEVELS.join(", ")}`);
  if (!settings.backup_dir && (settings.backup_interval_seconds || settings.backup_keep))
    throw usageError("backup_interval_seconds and backup_keep need backup_dir (where backups go)");
  if (settings.tls_min_version && !(settings.tls_cert && settings.tls_key))
    throw usageError(
      "tls_min_version needs a certificate and key (--tls-cert and --tls-key, or tls_cert and tls_key)",
    );
  return settings;
}

/** BREAKGLASS_DELIVERY_MAX_ATTEMPTS, for a test or a box without a config file; the config file's key wins. */
function maxAttemptsFromEnv(): number | undefined {
  const text = process.env.BREAKGLASS_DELIVERY_MAX_ATTEMPTS;
  if (text === undefined || text === "") return undefined;
  const [min, max] = NUMBER_KEYS.delivery_max_attempts as [number, number];
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw usageError(`BREAKGLASS_DELIVERY_MAX_ATTEMPTS must be an integer from ${min} to ${max}`);
  return value;
}

function readConfigFile(path: string): Partial<ServerSettings> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const why = error instanceof SyntaxError ? "it is not valid JSON" : (error as NodeJS.ErrnoException).code;
    throw usageError(`cannot read config file ${path}: ${why}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw usageError(`config file ${path} must hold a JSON object`);
  const config = parsed as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!FILE_KEYS.includes(key))
      throw usageError(`config file ${path}: unknown key ${key} (known: ${FILE_KEYS.join(", ")})`);
    if (key === "rate_limits") {
      checkRateLimits(path, config[key]);
      continue;
    }
    if (key === "tls_min_version" && !Object.hasOwn(TLS_MIN_VERSIONS, config[key] as string))
      throw usageError(
        `config file ${path}: tls_min_version must be one of ${Object.keys(TLS_MIN_VERSIONS).join(", ")}`,
      );
    if (key === "audit_sinks") {
      const sinks = config[key];
      if (sinks === null || typeof sinks !== "object" || Array.isArray(sinks))
        throw usageError(`config file ${path}: audit_sinks must be an object of sinks by name`);
      continue;
    }
    const range = NUMBER_KEYS[key];
    if (range) {
      const value = config[key];
      if (!Number.isInteger(value) || (value as number) < range[0] || (value as number) > range[1])
        throw usageError(
          `config file ${path}: ${key} must be a whole number from ${range[0]} to ${range[1]}`,
        );
      continue;
    }
    const expected = key === "insecure_listen" ? "boolean" : "string";
    if (typeof config[key] !== expected)
      throw usageError(`config file ${path}: ${key} must be a ${expected}`);
    if (PATH_KEYS.includes(key)) config[key] = resolve(dirname(path), config[key] as string);
  }
  return config as Partial<ServerSettings>;
}

/** `{"login": 120, …}`: known groups, each a whole number of requests a minute. */
function checkRateLimits(path: string, limits: unknown): void {
  const groups = Object.keys(DEFAULT_RATE_LIMITS);
  if (limits === null || typeof limits !== "object" || Array.isArray(limits))
    throw usageError(
      `config file ${path}: rate_limits must be an object of requests a minute by group (${groups.join(", ")})`,
    );
  for (const [group, value] of Object.entries(limits)) {
    if (!groups.includes(group))
      throw usageError(
        `config file ${path}: rate_limits: unknown group ${group} (known: ${groups.join(", ")})`,
      );
    const [least, most] = RATE_LIMIT_RANGE;
    if (!Number.isInteger(value) || value < least || value > most)
      throw usageError(
        `config file ${path}: rate_limits.${group} must be a whole number of requests a minute from ${least} to ${most}`,
      );
  }
}

/** "127.0.0.1:8470", "[::1]:8470", "0.0.0.0:443". */
export function parseListen(text: string): { host: string; port: number } {
  const match = text.trim().match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw usageError(`--listen must be HOST:PORT (such as 127.0.0.1:8470 or [::1]:8470), not ${text}`);
  return { host: (match[1] ?? match[2]) as string, port };
}

async function runServer(settings: ServerSettings, dev: boolean): Promise<void> {
  const { host, port } = parseListen(settings.listen);
  // Loaded here, not at the top: the other commands start faster without the server's dependencies.
  const { startServer, ServerConfigError } = await import("../../server/start.js");
  const { RESTORE_PENDING } = await import("../../services/seal/seal.js");
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({
      host,
      port,
      dataDir: settings.data,
      databaseUrl: settings.database,
      dev,
      tlsCert: settings.tls_cert,
      tlsKey: settings.tls_key,
      tlsMinVersion: settings.tls_min_version,
      rateLimits: settings.rate_limits,
      insecureListen: settings.insecure_listen,
      logLevel: settings.log_level,
      auditSinks: settings.audit_sinks,
      loginTtlSeconds: settings.login_ttl_seconds,
      approvalRequestTtlSeconds: settings.approval_request_ttl_seconds,
      passkeyOrigin: settings.passkey_origin,
      delivery: {
        maxAttempts: settings.delivery_max_attempts,
        warnAfterSeconds: settings.delivery_warn_after_seconds,
        nodeName: settings.node_name,
      },
      backups: settings.backup_dir
        ? {
            dir: settings.backup_dir,
            intervalSeconds: settings.backup_interval_seconds ?? BACKUP_DEFAULTS.intervalSeconds,
            keep: settings.backup_keep ?? BACKUP_DEFAULTS.keep,
          }
        : undefined,
      custody: {
        drillWindowDays: settings.custodian_drill_window_days,
        checkEveryMs: settings.custody_check_seconds ? settings.custody_check_seconds * 1000 : undefined,
      },
      deviceReminders: {
        windowDays: settings.device_reminder_days,
        checkoutLimitHours: settings.device_checkout_limit_hours,
        checkEveryMs: settings.device_reminder_check_seconds
          ? settings.device_reminder_check_seconds * 1000
          : undefined,
      },
      auditCheckpoints: {
        ...(settings.audit_checkpoint_entries ? { everyEntries: settings.audit_checkpoint_entries } : {}),
        ...(settings.audit_checkpoint_seconds ? { everySeconds: settings.audit_checkpoint_seconds } : {}),
      },
      announce: (text) => process.stderr.write(text),
    });
  } catch (error) {
    if (error instanceof ServerConfigError) throw usageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new CliError(`cannot listen on ${settings.listen}: the address is in use`);
    if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "28P01" || code === "3D000")
      throw new CliError(`cannot use the database: ${(error as Error).message}`);
    throw error;
  }
  const status = await running.services.seal.status();
  // For the person at the terminal: what to run next, and where the web UI is.
  const cli = running.url === DEFAULT_ADDR ? "breakglass" : `BREAKGLASS_ADDR=${running.url} breakglass`;
  const [state, next] = !status.initialized
    ? ["sealed, not initialised", `initialise it (the key ceremony): ${cli} operator init`]
    : status.restorePendingFrom !== null
      ? [
          `sealed; ${RESTORE_PENDING} made ${status.restorePendingFrom}`,
          `the backup's custodians unseal it: ${cli} operator unseal`,
        ]
      : status.sealed
        ? ["sealed", `custodians unseal it: ${cli} operator unseal`]
        : ["unsealed", null];
  process.stderr.write(
    [
      `listening on ${running.url} (${state})`,
      ...(next ? [`next: ${next}`] : []),
      `web UI: ${running.url}/ui/`,
      "",
    ].join("\n"),
  );

  stopOnSignals(running, (settings.shutdown_timeout_seconds ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS) * 1000);
}

/** An origin a browser can have for the web UI: https (http only on localhost), a host, no path. */
function isWebOrigin(text: unknown): boolean {
  if (typeof text !== "string") return false;
  try {
    const url = new URL(text);
    const secure = url.protocol === "https:" || (url.protocol === "http:" && url.hostname === "localhost");
    return secure && url.origin === text.replace(/\/$/, "") && url.hostname !== "";
  } catch {
    return false;
  }
}
