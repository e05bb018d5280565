import { type Static, Type } from "typebox";
import { HOUSEKEEPING_ACTIONS } from "../core/audit-actions.js";
import { oneOf } from "./fields.js";

/** Reading the audit chain (audit, audit/export) and its sinks (sys/audit/sinks/:name). */

const MAX_AUDIT_PAGE = 100000;

/** What selects entries, for a page (`GET /v1/audit`) and an export alike. */
const filterFields = {
  since: Type.Optional(Type.String({ description: "ISO-8601 time, inclusive" })),
  until: Type.Optional(Type.String({ description: "ISO-8601 time, exclusive" })),
  actor: Type.Optional(
    Type.String({
      description:
        "who answers: user:NAME or just NAME (everything a person did, through any of their tokens), token:ACCESSOR (a root token's line), anonymous, system",
    }),
  ),
  action: Type.Optional(
    Type.String({ description: "an action (exactly), or a family of them: totp finds totp.code.read" }),
  ),
  target: Type.Optional(
    Type.String({
      description:
        "e.g. totp/keys/aws-prod-root; a name without a slash also finds the targets ending in /NAME",
    }),
  ),
  outcome: Type.Optional(oneOf(["allowed", "denied", "failed"])),
  q: Type.Optional(
    Type.String({ maxLength: 200, description: "text the reason contains (case-insensitive)" }),
  ),
  housekeeping: Type.Optional(
    Type.Boolean({
      description: `false leaves out housekeeping, the allowed entries of ${HOUSEKEEPING_ACTIONS.join(", ")}; default true: everything`,
    }),
  ),
  after: Type.Optional(
    Type.Integer({ minimum: 0, description: "only entries after this sequence number (pagination)" }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE })),
};

export const AuditFilterQuery = Type.Object(filterFields);
export type AuditFilterQuery = Static<typeof AuditFilterQuery>;

/** A page: the filter, in either order; `before` pages newest first as `after` pages oldest first. */
export const AuditListQuery = Type.Object({
  ...filterFields,
  order: Type.Optional(
    oneOf(["oldest", "newest"], {
      description: "oldest first (the default, the chain's order) or newest first",
    }),
  ),
  before: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: "only entries before this sequence number (pagination, newest first)",
    }),
  ),
});
export type AuditListQuery = Static<typeof AuditListQuery>;

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
