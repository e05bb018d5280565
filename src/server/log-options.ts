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
];

/**
 * Censored wherever they appear in a log line, at the top or one level down (`req.headers.…` is
 * two): nothing logs such a field today, and if a request, an error or a body ever is, its
 * secrets still stay out. Bodies are never logged.
 */
export const REDACTED_PATHS = [
  ...SECRET_FIELDS.map((field) => (field.startsWith('"') ? `[${field}]` : field)),
  ...SECRET_FIELDS.map((field) => (field.startsWith('"') ? `*[${field}]` : `*.${field}`)),
  ...SECRET_FIELDS.map((field) => (field.startsWith('"') ? `*.headers[${field}]` : `*.headers.${field}`)),
];

export function logOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
}
