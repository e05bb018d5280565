import type { LoggerOptions } from "pino";

/**
 * Names under which a secret travels: headers, API fields (Vault's `key` is a share or a seed), and
 * what services call them. Not `code`: errors carry theirs (ECONNREFUSED), and a TOTP code is never logged.
 */
const SECRET_FIELDS = [
  "authorization",
  '"x-vault-token"',
  "cookie",
  '"set-cookie"',
  '"x-breakglass-csrf"',
  '"x-breakglass-signature"',
  "password",
  "secret",
  "token",
  "client_token",
  "root_token",
  "csrf_token",
  "encoded_token",
  "encoded_root_token",
  "otp",
  "key",
  "keys",
  "keys_base64",
  "share",
  "seed",
  "totp",
  // A passkey's answers: not secrets (single-use, public keys only), but never worth a log line.
  '"x-breakglass-step-up"',
  "passkey",
  "step_up",
  "credential",
];

/** The objects a log line may carry (Fastify's req, res and err; a body or headers should one be logged). */
const PARENTS = ["req", "res", "err", "error", "request", "response", "body", "headers", "query", "params"];

/**
 * Censored at the top of a log line, one level down in the objects above, and in their headers:
 * nothing logs such a field today, and if a request, an error or a body ever is, its secrets still
 * stay out. Bodies are never logged. No path starts with a wildcard: with one, pino runs the
 * redactor over the bindings of every child logger, and Fastify makes one per request.
 */
const under = (parent: string, field: string) =>
  field.startsWith('"') ? `${parent}[${field}]` : `${parent}.${field}`;
export const REDACTED_PATHS = [
  ...SECRET_FIELDS.map((field) => (field.startsWith('"') ? `[${field}]` : field)),
  ...PARENTS.flatMap((parent) => SECRET_FIELDS.map((field) => under(parent, field))),
  ...PARENTS.flatMap((parent) => SECRET_FIELDS.map((field) => under(`${parent}.headers`, field))),
];

export function logOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
}
