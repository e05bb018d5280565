import { Readable } from "node:stream";
import { AuditFilterQuery, AuditListQuery } from "../../api/audit.js";
import { HOUSEKEEPING_ACTIONS, isAuditAction } from "../../core/audit-actions.js";
import { keyIdOf, parsePublicKey, publicKeyOpenSsh, publicKeyPem } from "../../core/audit-checkpoint.js";
import { badInput } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import type { AuditFilter } from "../../store/store.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";

const DEFAULT_LIMIT = 1000;

const entrySchema = {
  type: "object",
  properties: {
    seq: { type: "integer" },
    time: { type: "string" },
    actor: { type: "string" },
    action: { type: "string" },
    target: { type: ["string", "null"] },
    outcome: { type: "string" },
    reason: { type: ["string", "null"] },
    request_id: { type: ["string", "null"] },
    remote_addr: { type: ["string", "null"] },
    user_agent: { type: ["string", "null"] },
    approval_ids: { type: "array", items: { type: "string" } },
    details: { type: "object", additionalProperties: true },
    prev_hash: { type: "string" },
    hash: { type: "string" },
    token: {
      type: "string",
      description: "the accessor of the token the request came with; absent without one",
    },
    token_name: { type: "string", description: "that token's display name; absent without a token" },
  },
} as const;

/** Reading the audit chain (auditors: the `auditor` policy), and its public verification key. */
export function auditRoutes(app: RouteApp, services: Services): void {
  const { auditAccess } = services;

  app.get(
    "/v1/audit",
    {
      config: { action: "audit.read" },
      schema: {
        summary:
          "Audit entries, filtered, oldest first (order=newest: newest first); next_after (oldest first) or next_before (newest first) continues a full page",
        tags: ["audit"],
        querystring: AuditListQuery,
        response: {
          200: dataEnvelope({
            entries: { type: "array", items: entrySchema },
            next_after: { type: ["integer", "null"], description: "oldest first: ask again with after=" },
            next_before: {
              type: ["integer", "null"],
              description: "newest first: ask again with before=",
            },
          }),
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const { query } = request;
      const filter = {
        ...filterOf(query, DEFAULT_LIMIT),
        beforeSeq: query.before,
        newestFirst: query.order === "newest",
      };
      const page = await auditAccess.list(filter, request.ctx);
      return { data: { entries: page.entries, next_after: page.nextAfter, next_before: page.nextBefore } };
    },
  );

  app.get(
    "/v1/audit/export",
    {
      config: { action: "audit.export" },
      schema: {
        summary:
          "The chain as canonical JSON lines, ending with a fresh signed checkpoint, for offline verification",
        tags: ["audit"],
        querystring: AuditFilterQuery,
      },
    },
    async (request, reply) => {
      const lines = await auditAccess.exportLines(filterOf(request.query), request.ctx);
      return reply.type("application/x-ndjson").send(Readable.from(lines));
    },
  );

  app.get(
    "/v1/audit/verify",
    {
      config: { action: "audit.verify" },
      schema: {
        summary:
          "Walks the whole chain in the store: links, hashes and checkpoint signatures (the UI's 'verify chain')",
        tags: ["audit"],
        response: {
          200: dataEnvelope({
            intact: { type: "boolean" },
            entries: { type: "integer", description: "entries that hold, from the first" },
            signed_through: {
              type: ["integer", "null"],
              description: "the last entry a valid checkpoint signs",
            },
            unsigned_tail: {
              type: ["object", "null"],
              properties: { from: { type: "integer" }, to: { type: "integer" } },
            },
            problem: {
              type: ["object", "null"],
              properties: { seq: { type: "integer" }, problem: { type: "string" } },
            },
            time_backwards: {
              type: "object",
              description:
                "entries dated before the entry they follow (intact, but written by a clock that ran backwards): how many, and the first ten",
              properties: {
                count: { type: "integer" },
                first: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      seq: { type: "integer" },
                      time: { type: "string" },
                      previous_time: { type: "string" },
                    },
                  },
                },
              },
            },
          }),
        },
      },
    },
    async (request) => {
      const report = await auditAccess.verify(request.ctx);
      return {
        data: {
          intact: report.firstProblem === null,
          entries: report.count,
          signed_through: report.lastCheckpoint?.signedSeq ?? null,
          unsigned_tail: report.unsignedTail,
          problem: report.firstProblem,
          time_backwards: report.timeBackwards,
        },
      };
    },
  );

  app.get(
    "/v1/audit/public-key",
    {
      config: { sealedOk: true },
      schema: {
        summary:
          "The Ed25519 key that verifies audit checkpoints (public: no token needed, also while sealed)",
        tags: ["audit"],
        security: [],
        response: {
          200: dataEnvelope({
            algorithm: { type: "string" },
            key_id: { type: "string" },
            public_key_pem: { type: "string" },
            public_key_openssh: { type: "string" },
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async () => {
      const key = parsePublicKey(await auditAccess.publicKey());
      return {
        data: {
          algorithm: "ed25519",
          key_id: keyIdOf(key),
          public_key_pem: publicKeyPem(key),
          public_key_openssh: publicKeyOpenSsh(key),
        },
      };
    },
  );
}

/** The query, read the friendly way for every client: `alice` is `user:alice`, `totp` every totp.* action, `aws-prod-root` any target ending so. */
function filterOf(query: AuditFilterQuery, defaultLimit?: number): AuditFilter {
  const { target } = query;
  const named = target !== undefined && !target.includes("/");
  return {
    since: isoTime(query.since, "since"),
    until: isoTime(query.until, "until"),
    actor: personOrActor(query.actor),
    // A catalogued action is itself (sys.rotate is not sys.rotate.reencrypted); any other text is a
    // family of them (totp finds totp.code.read).
    ...(query.action === undefined
      ? {}
      : isAuditAction(query.action)
        ? { action: query.action }
        : { actionFamily: query.action }),
    target: named ? undefined : target,
    targetName: named ? target : undefined,
    outcome: query.outcome,
    reasonContains: query.q,
    hideAllowed: query.housekeeping === false ? HOUSEKEEPING_ACTIONS : undefined,
    afterSeq: query.after,
    limit: query.limit ?? defaultLimit,
  };
}

/** The actors that are not a person; any other name without a colon is a person's username. */
const NOT_PEOPLE = new Set(["anonymous", "system"]);

function personOrActor(actor: string | undefined): string | undefined {
  if (!actor || actor.includes(":") || NOT_PEOPLE.has(actor)) return actor;
  return `user:${actor}`;
}

function isoTime(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw badInput(`${what} must be an ISO-8601 time such as 2026-11-28T09:00:00Z`);
  return new Date(time).toISOString();
}
