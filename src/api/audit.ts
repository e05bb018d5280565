import { type Static, Type } from "typebox";
import { oneOf } from "./fields.js";

/** Reading the audit chain (audit, audit/export) and its sinks (sys/audit/sinks/:name). */

const MAX_AUDIT_PAGE = 100000;

export const AuditFilterQuery = Type.Object({
  since: Type.Optional(Type.String({ description: "ISO-8601 time, inclusive" })),
  until: Type.Optional(Type.String({ description: "ISO-8601 time, exclusive" })),
  actor: Type.Optional(
    Type.String({
      description:
        "who answers: user:NAME (everything a person did, through any of their tokens), token:ACCESSOR (a root token's line), anonymous, system",
    }),
  ),
  action: Type.Optional(Type.String({ description: "e.g. totp.code.read" })),
  target: Type.Optional(Type.String({ description: "e.g. totp/keys/aws-prod-root" })),
  outcome: Type.Optional(oneOf(["allowed", "denied", "failed"])),
  q: Type.Optional(
    Type.String({ maxLength: 200, description: "text the reason contains (case-insensitive)" }),
  ),
  after: Type.Optional(
    Type.Integer({ minimum: 0, description: "only entries after this sequence number (pagination)" }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE })),
});
export type AuditFilterQuery = Static<typeof AuditFilterQuery>;

export const SinkNameParams = Type.Object({
  name: Type.String({ maxLength: 64, description: "the sink's name" }),
});
export type SinkNameParams = Static<typeof SinkNameParams>;

/** Checked by the service (sinks/sink-admin.ts), which knows each type's options. */
export const SinkBody = Type.Object({
  type: Type.Optional(Type.String({ description: "file, syslog or webhook" })),
  description: Type.Optional(Type.String({ "x-text": "line" })),
  options: Type.Optional(
    Type.Unsafe<Record<string, unknown>>({
      type: "object",
      additionalProperties: true,
      description: "see docs/audit-sinks.md",
    }),
  ),
  required: Type.Optional(
    Type.Boolean({ description: "code reads wait for this sink's acknowledgement and fail when it fails" }),
  ),
});
export type SinkBody = Static<typeof SinkBody>;
