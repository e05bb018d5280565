import { type Static, Type } from "typebox";
import { secondsOrText } from "./fields.js";

/** Vault's TOTP engine: keys (totp/keys/:name), codes (totp/code/:name), a Google Authenticator import. */

/** The base64 of a QR screenshot or photo (a 9 MiB image); http/body-limits.ts sizes the body from it. */
export const MAX_QR_IMAGE_BASE64 = 12 * 1024 * 1024;

export const KeyNameParams = Type.Object({
  name: Type.String({ maxLength: 128, "x-text": "line", description: "the key's name" }),
});
export type KeyNameParams = Static<typeof KeyNameParams>;

export const CreateKeyBody = Type.Object({
  generate: Type.Optional(Type.Boolean({ description: "make the seed here" })),
  exported: Type.Optional(
    Type.Boolean({ description: "with generate: return url and barcode this once (default true)" }),
  ),
  key_size: Type.Optional(Type.Integer({ description: "with generate: seed bytes (default 20)" })),
  qr_size: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 2000, description: "barcode pixels; 0 for none" }),
  ),
  url: Type.Optional(Type.String({ maxLength: 4096, description: "an otpauth://totp/ URI" })),
  key: Type.Optional(Type.String({ maxLength: 1024, description: "the seed, base32" })),
  qr_image: Type.Optional(
    Type.String({ maxLength: MAX_QR_IMAGE_BASE64, description: "a PNG or JPEG showing the QR code, base64" }),
  ),
  issuer: Type.Optional(Type.String({ maxLength: 256, "x-text": "line" })),
  account_name: Type.Optional(Type.String({ maxLength: 256, "x-text": "line" })),
  algorithm: Type.Optional(Type.String({ maxLength: 16, description: "SHA1, SHA256 or SHA512" })),
  digits: Type.Optional(Type.Integer({ description: "6 or 8" })),
  period: Type.Optional(
    secondsOrText(["integer", "string"], {
      maxLength: 16,
      description: "seconds per code, or a duration as Vault takes it: 30s, 1m",
    }),
  ),
  skew: Type.Optional(Type.Integer({ description: "steps accepted either side when validating: 0 or 1" })),
});
export type CreateKeyBody = Static<typeof CreateKeyBody>;

export const GoogleImportBody = Type.Object({
  url: Type.Optional(Type.String({ maxLength: 65536 })),
  qr_image: Type.Optional(Type.String({ maxLength: MAX_QR_IMAGE_BASE64 })),
  prefix: Type.Optional(Type.String({ maxLength: 64, description: "put before every key name" })),
});
export type GoogleImportBody = Static<typeof GoogleImportBody>;

export const CodeQuery = Type.Object({
  reason: Type.Optional(
    Type.String({ description: "why the code is read (recorded); also X-Breakglass-Reason" }),
  ),
  enroll: Type.Optional(
    Type.Boolean({ description: "add next_code, for services that ask for two consecutive codes" }),
  ),
  approval: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "the id of an approved request, when the credential's rule needs approvals",
    }),
  ),
});
export type CodeQuery = Static<typeof CodeQuery>;

export const ValidateCodeBody = Type.Object({ code: Type.String({ maxLength: 16 }) });
export type ValidateCodeBody = Static<typeof ValidateCodeBody>;

const principals = Type.Array(Type.String({ maxLength: 80 }), { maxItems: 100 });

/** A credential's access rule (totp/access/:name). */
export const AccessRuleBody = Type.Object({
  readers: principals,
  approvers: Type.Optional(principals),
  approvals_required: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
  require_reason: Type.Optional(Type.Boolean()),
  approval_ttl: Type.Optional(
    secondsOrText(["integer", "string"], { description: "seconds, or 15m, 1h; default 15m" }),
  ),
  notify: Type.Optional(Type.Array(Type.String({ maxLength: 80 }), { maxItems: 20 })),
  step_up: Type.Optional(
    Type.Boolean({
      description: "each code read needs a fresh passkey assertion bound to it (docs/passkeys.md)",
    }),
  ),
  approver_step_up: Type.Optional(
    Type.Boolean({
      description: "each approver's yes needs a fresh passkey assertion bound to that request",
    }),
  ),
});
export type AccessRuleBody = Static<typeof AccessRuleBody>;

/** A credential's access rule as the server answers it (the route, the CLI and the UI read this). */
export const AccessRuleAnswer = Type.Object({
  key: Type.String(),
  readers: Type.Array(Type.String()),
  approvers: Type.Array(Type.String()),
  approvals_required: Type.Integer(),
  require_reason: Type.Boolean(),
  approval_ttl: Type.Integer({ description: "seconds" }),
  notify: Type.Array(Type.String()),
  step_up: Type.Boolean(),
  approver_step_up: Type.Boolean(),
  updated_at: Type.String(),
});
export type AccessRuleAnswer = Static<typeof AccessRuleAnswer>;

/** A key as `GET totp/keys/:name` describes it: never its seed. */
export const KeyMetadataAnswer = Type.Object({
  name: Type.String(),
  issuer: Type.String(),
  account_name: Type.String(),
  algorithm: Type.String(),
  digits: Type.Integer(),
  period: Type.Integer(),
  skew: Type.Integer(),
  generated: Type.Boolean(),
  created_at: Type.String(),
  created_by: Type.String(),
});
export type KeyMetadataAnswer = Static<typeof KeyMetadataAnswer>;

/** What a Google Authenticator import stored, and what it skipped and why. */
export const ImportAnswer = Type.Object({
  imported: Type.Array(
    Type.Object({ name: Type.String(), issuer: Type.String(), account_name: Type.String() }),
  ),
  skipped: Type.Array(Type.Object({ label: Type.String(), why: Type.String() })),
});
export type ImportAnswer = Static<typeof ImportAnswer>;
