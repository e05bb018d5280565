import { isIP } from "node:net";
import { isAbsolute } from "node:path";
import { badInput } from "../../../core/errors.js";
import { webhookUrlProblem } from "../../../core/webhook-url.js";

/**
 * What an audit sink is, checked once at the boundary (the API body or the config file): after
 * this, the sinks trust their options. Every problem is named, so one answer lists them all.
 * docs/audit-sinks.md is the reference for the options and their defaults.
 */

export const SINK_TYPES = ["file", "syslog", "webhook"] as const;
export type SinkType = (typeof SINK_TYPES)[number];

export interface FileOptions {
  path: string;
  max_bytes: number;
  keep: number;
  max_queue: number;
  max_attempts: number;
}

export interface SyslogOptions {
  host: string;
  port: number;
  protocol: "udp" | "tcp";
  facility: string;
  app_name: string;
  timeout_ms: number;
  max_queue: number;
  max_attempts: number;
}

export interface WebhookOptions {
  url: string;
  batch_size: number;
  batch_ms: number;
  timeout_ms: number;
  max_queue: number;
  max_attempts: number;
}

export interface SinkSpec {
  name: string;
  type: SinkType;
  description: string;
  required: boolean;
  /** Options without secrets, defaults filled in: what is stored and listed. */
  options: Record<string, string | number>;
  /** The webhook's Authorization header value: stored sealed, never listed or logged. */
  authorization: string | null;
}

/** Names of options that are secrets: accepted, never shown (the listing names which are set). */
export const SECRET_OPTIONS = ["authorization"] as const;

export const FACILITY_CODES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const MiB = 1024 * 1024;
const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MAX_DESCRIPTION = 1000;
const SPEC_FIELDS = ["type", "description", "options", "required"];

/** One option: how to read it from JSON; `undefined` from `read` means "use the default". */
interface OptionRule {
  read(value: unknown): { value: string | number } | { problem: string };
  default?: string | number;
  secret?: boolean;
}

const integer = (min: number, max: number, fallback: number): OptionRule => ({
  default: fallback,
  read: (value) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? { value }
      : { problem: `must be an integer from ${min} to ${max}` },
});

const text = (check: (value: string) => string | null, fallback?: string, secret = false): OptionRule => ({
  default: fallback,
  secret,
  read: (value) => {
    if (typeof value !== "string") return { problem: "must be a string" };
    const problem = check(value);
    return problem === null ? { value } : { problem };
  },
});

const oneOf = (choices: readonly string[], fallback: string): OptionRule =>
  text((value) => (choices.includes(value) ? null : `must be one of ${choices.join(", ")}`), fallback);

const absolutePath = (value: string) =>
  value.length > 0 && value.length <= 4096 && isAbsolute(value) && !value.includes("\0")
    ? null
    : "must be an absolute file path";

const hostName = (value: string) =>
  isIP(value) !== 0 || HOST_NAME.test(value) ? null : "must be a host name or an IP address";

const appName = (value: string) =>
  /^[\x21-\x7e]{1,48}$/.test(value) ? null : "must be 1-48 printable ASCII characters without spaces";

const headerValue = (value: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters would split the header
  value.length >= 1 && value.length <= 4096 && !/[\u0000-\u001f\u007f]/.test(value)
    ? null
    : "must be 1-4096 characters without control characters or line breaks";

/** Accepted and ignored: entries wait in the store now (kept so that older configurations still load). */
const maxQueue = integer(1, 1_000_000, 100_000);
/** Failed sends of a batch before it becomes dead letters; 0: retried in order for ever. */
const maxAttempts = integer(0, 1_000_000, 0);
const timeoutMs = integer(100, 120_000, 5_000);

const RULES: Record<SinkType, Record<string, OptionRule>> = {
  file: {
    path: text(absolutePath),
    max_bytes: integer(1024, 2 ** 40, 100 * MiB),
    keep: integer(1, 1000, 5),
    max_queue: maxQueue,
    max_attempts: maxAttempts,
  },
  syslog: {
    host: text(hostName),
    port: integer(1, 65535, 514),
    protocol: oneOf(["udp", "tcp"], "udp"),
    facility: oneOf(Object.keys(FACILITY_CODES), "authpriv"),
    app_name: text(appName, "breakglass"),
    timeout_ms: timeoutMs,
    max_queue: maxQueue,
    max_attempts: maxAttempts,
  },
  webhook: {
    url: text((value) => webhookUrlProblem(value, "give them in authorization")),
    batch_size: integer(1, 10_000, 100),
    batch_ms: integer(0, 60_000, 1_000),
    timeout_ms: timeoutMs,
    authorization: text(headerValue, undefined, true),
    max_queue: maxQueue,
    max_attempts: maxAttempts,
  },
};

export function checkSinkName(name: string): string {
  if (!SINK_NAME.test(name))
    throw badInput(
      "sink name must be 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return name;
}

/** Reads `{type, description?, options, required?}`; returns the sink, or every problem found. */
export function parseSinkSpec(
  name: string,
  input: unknown,
): { spec: SinkSpec; problems: [] } | { spec: null; problems: string[] } {
  const problems: string[] = [];
  if (!SINK_NAME.test(name)) problems.push("name must be 1-64 letters, digits, '.', '_' or '-'");
  if (!isObject(input)) return { spec: null, problems: [...problems, "a sink must be a JSON object"] };
  for (const field of Object.keys(input))
    if (!SPEC_FIELDS.includes(field))
      problems.push(`unknown field ${field} (known: ${SPEC_FIELDS.join(", ")})`);

  const type = input.type;
  const knownType = SINK_TYPES.find((known) => known === type);
  if (!knownType) problems.push(`type must be one of ${SINK_TYPES.join(", ")}`);
  const description = input.description ?? "";
  if (typeof description !== "string" || description.length > MAX_DESCRIPTION)
    problems.push(`description must be a string of at most ${MAX_DESCRIPTION} characters`);
  const required = input.required ?? false;
  if (typeof required !== "boolean") problems.push("required must be true or false");
  const given = input.options ?? {};
  if (!isObject(given)) problems.push("options must be a JSON object");

  const options: Record<string, string | number> = {};
  let authorization: string | null = null;
  if (knownType && isObject(given)) {
    const rules = RULES[knownType];
    for (const key of Object.keys(given))
      if (!(key in rules))
        problems.push(
          `options.${key} is not an option of a ${knownType} sink (known: ${Object.keys(rules).join(", ")})`,
        );
    for (const [key, rule] of Object.entries(rules)) {
      const value = given[key];
      if (value === undefined || value === null) {
        if (rule.default !== undefined) options[key] = rule.default;
        else if (!rule.secret) problems.push(`options.${key} is required for a ${knownType} sink`);
        continue;
      }
      const read = rule.read(value);
      if ("problem" in read) problems.push(`options.${key} ${read.problem}`);
      else if (rule.secret) authorization = String(read.value);
      else options[key] = read.value;
    }
  }
  if (problems.length > 0 || !knownType) return { spec: null, problems };
  return {
    spec: {
      name,
      type: knownType,
      description: description as string,
      required: required as boolean,
      options,
      authorization,
    },
    problems: [],
  };
}

/** The `audit_sinks` object of the config file: every sink, or every problem (prefixed with its place). */
export function parseConfigSinks(input: unknown): { specs: SinkSpec[]; problems: string[] } {
  if (input === undefined || input === null) return { specs: [], problems: [] };
  if (!isObject(input)) return { specs: [], problems: ["audit_sinks must be an object of sinks by name"] };
  const specs: SinkSpec[] = [];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(input)) {
    const parsed = parseSinkSpec(name, value);
    if (parsed.spec) specs.push(parsed.spec);
    else problems.push(...parsed.problems.map((problem) => `audit_sinks.${name}: ${problem}`));
  }
  return { specs, problems };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
