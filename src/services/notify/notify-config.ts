import { isIP } from "node:net";
import { badInput } from "../../core/errors.js";
import { webhookUrlProblem } from "../../core/webhook-url.js";
import type { EventFilter } from "../../store/store.js";
import { NOTIFICATION_EVENT_TYPES, type NotificationEvent } from "./events.js";

/**
 * What a notification destination is, checked once at the API boundary: after this, the channels
 * trust their settings. Every problem is named, so one answer lists them all.
 * docs/notifications.md is the reference.
 */

export interface WebhookSpec {
  url: string;
  events: EventFilter;
  /** Given by the caller, or null: one is generated. */
  secret: string | null;
}

export interface SmtpSpec {
  host: string;
  port: number;
  /** TLS from the start (port 465 usually); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  from: string;
  to: string[];
  username: string | null;
  password: string | null;
  events: EventFilter;
}

type Parsed<T> = { spec: T; problems: [] } | { spec: null; problems: string[] };

/** Associated data of a webhook's sealed secret: it opens only as that webhook's, at that key version. */
export const webhookSecretAad = (name: string) => (keyVersion: number) =>
  `notify_webhooks/${name}/v${keyVersion}`;
/** Associated data of the mail server's sealed password (its row is always id 1). */
export const smtpPasswordAad = (keyVersion: number) => `notify_smtp/1/v${keyVersion}`;

const WEBHOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOCAL_PART = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;
const MAX_RECIPIENTS = 100;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkWebhookName(name: string): string {
  if (!WEBHOOK_NAME.test(name))
    throw badInput(
      "webhook name must be 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  return name;
}

export function isEmailAddress(value: string): boolean {
  const at = value.lastIndexOf("@");
  if (at < 1 || value.length > 254) return false;
  return LOCAL_PART.test(value.slice(0, at)) && HOST_NAME.test(value.slice(at + 1));
}

/** Whether a destination with this filter gets events of this type. */
export function wantsEvent(filter: EventFilter, type: NotificationEvent["type"]): boolean {
  return filter === "*" || filter.includes(type);
}

/** Reads `{url, events, secret?}`. */
export function parseWebhookSpec(input: unknown): Parsed<WebhookSpec> {
  const body = (input ?? {}) as Record<string, unknown>;
  const problems = unknownFields(body, ["url", "events", "secret"]);
  const url = body.url;
  const urlProblem =
    typeof url === "string"
      ? webhookUrlProblem(url, "sign with the secret instead")
      : "is required: an http:// or https:// URL";
  if (urlProblem) problems.push(`url ${urlProblem}`);
  const events = readEvents(body.events, problems, null);
  let secret: string | null = null;
  if (body.secret !== undefined && body.secret !== null) {
    if (
      typeof body.secret !== "string" ||
      body.secret.length < 16 ||
      body.secret.length > 256 ||
      CONTROL.test(body.secret)
    )
      problems.push(
        "secret must be 16-256 characters without control characters (or left out: one is generated)",
      );
    else secret = body.secret;
  }
  if (problems.length > 0 || events === null) return { spec: null, problems };
  return { spec: { url: url as string, events, secret }, problems: [] };
}

/** Reads `{host, port, secure, from, to, username?, password?, events?}`. */
export function parseSmtpSpec(input: unknown): Parsed<SmtpSpec> {
  const body = (input ?? {}) as Record<string, unknown>;
  const problems = unknownFields(body, [
    "host",
    "port",
    "secure",
    "from",
    "to",
    "username",
    "password",
    "events",
  ]);
  const { host, port, secure, from, to, username, password } = body;
  if (typeof host !== "string" || !(isIP(host) !== 0 || HOST_NAME.test(host)))
    problems.push("host is required: a host name or an IP address");
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    problems.push("port is required: an integer from 1 to 65535");
  if (secure !== undefined && typeof secure !== "boolean")
    problems.push("secure must be true (TLS from the start) or false (STARTTLS when offered)");
  if (typeof from !== "string" || !isEmailAddress(from)) problems.push("from is required: an e-mail address");
  if (!Array.isArray(to) || to.length === 0 || to.length > MAX_RECIPIENTS)
    problems.push(`to is required: a list of 1-${MAX_RECIPIENTS} e-mail addresses`);
  else {
    const bad = to.filter((address) => typeof address !== "string" || !isEmailAddress(address));
    if (bad.length > 0)
      problems.push(`to has entries that are not e-mail addresses: ${bad.map(describeEntry).join(", ")}`);
  }
  const user = optionalText(username, "username", 256, problems);
  const pass = optionalText(password, "password", 1024, problems);
  if (pass !== null && user === null) problems.push("password needs a username");
  const events = readEvents(body.events, problems, "*");
  if (problems.length > 0 || events === null) return { spec: null, problems };
  return {
    spec: {
      host: host as string,
      port: port as number,
      secure: secure === true,
      from: from as string,
      to: [...new Set(to as string[])],
      username: user,
      password: pass,
      events,
    },
    problems: [],
  };
}

function readEvents(value: unknown, problems: string[], fallback: EventFilter | null): EventFilter | null {
  if (value === undefined && fallback !== null) return fallback;
  if (value === "*") return "*";
  const known = NOTIFICATION_EVENT_TYPES as readonly string[];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`events must be "*" or a list of event types: ${known.join(", ")}`);
    return null;
  }
  const unknown = value.filter((type) => typeof type !== "string" || !known.includes(type));
  if (unknown.length > 0) {
    problems.push(
      `events has unknown event types: ${unknown.map(describeEntry).join(", ")} (known: ${known.join(", ")})`,
    );
    return null;
  }
  return [...new Set(value as string[])];
}

/** A list entry as a message shows it: text as given, anything else by its kind (String() of {"toString": 1} throws). */
function describeEntry(entry: unknown): string {
  if (typeof entry === "string") return entry;
  if (entry === null || typeof entry !== "object") return String(entry);
  return Array.isArray(entry) ? "(a list)" : "(an object)";
}

function optionalText(value: unknown, field: string, max: number, problems: string[]): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > max || CONTROL.test(value)) {
    problems.push(`${field} must be 1-${max} characters without control characters`);
    return null;
  }
  return value;
}

function unknownFields(body: Record<string, unknown>, known: string[]): string[] {
  const unknown = Object.keys(body).filter((field) => !known.includes(field));
  return unknown.length > 0 ? [`unknown fields: ${unknown.join(", ")} (known: ${known.join(", ")})`] : [];
}
