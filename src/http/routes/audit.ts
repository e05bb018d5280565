import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditEntry } from "../../core/audit-chain.js";
import { badInput } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import type { AuditFilter } from "../../store/store.js";
import { dataEnvelope, errorSchema } from "../schemas.js";

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100000;

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
  },
} as const;

const filterQuery = {
  type: "object",
  properties: {
    since: { type: "string", description: "ISO-8601 time, inclusive" },
    until: { type: "string", description: "ISO-8601 time, exclusive" },
    actor: { type: "string", description: "e.g. token:ACCESSOR" },
    action: { type: "string", description: "e.g. totp.code.read" },
    target: { type: "string", description: "e.g. totp/keys/aws-prod-root" },
    after: { type: "integer", minimum: 0, description: "only entries after this sequence number" },
    limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT },
  },
} as const;

/** Reading the audit chain. Reading it is itself recorded. */
export function auditRoutes(app: FastifyInstance, services: Services): void {
  const { audit, tokens } = services;

  const readEntries = async (request: FastifyRequest, defaultLimit?: number): Promise<AuditEntry[]> => {
    const query = request.query as {
      since?: string;
      until?: string;
      actor?: string;
      action?: string;
      target?: string;
      after?: number;
      limit?: number;
    };
    const filter: AuditFilter = {
      since: isoTime(query.since, "since"),
      until: isoTime(query.until, "until"),
      actor: query.actor,
      action: query.action,
      target: query.target,
      afterSeq: query.after,
      limit: query.limit ?? defaultLimit,
    };
    await tokens.authorize(request.ctx, "audit.read", "audit");
    await audit.record(request.ctx, {
      action: "audit.read",
      target: "audit",
      outcome: "allowed",
      details: { filter: JSON.stringify(query) },
    });
    return audit.list(filter);
  };

  app.get(
    "/v1/audit",
    {
      config: { auth: "audit.read" },
      schema: {
        summary: "Audit entries, oldest first, filtered",
        tags: ["audit"],
        querystring: filterQuery,
        response: { 200: dataEnvelope({ entries: { type: "array", items: entrySchema } }), 400: errorSchema },
      },
    },
    async (request) => ({ data: { entries: await readEntries(request, DEFAULT_LIMIT) } }),
  );

  app.get(
    "/v1/audit/export",
    {
      config: { auth: "audit.read" },
      schema: {
        summary: "The whole chain (or a filtered part) as JSON lines, for offline verification",
        tags: ["audit"],
        querystring: filterQuery,
      },
    },
    async (request, reply) => {
      const entries = await readEntries(request);
      return reply
        .type("application/x-ndjson")
        .send(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
    },
  );
}

function isoTime(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw badInput(`${what} must be an ISO-8601 time such as 2026-11-28T09:00:00Z`);
  return new Date(time).toISOString();
}
