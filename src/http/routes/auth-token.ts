import type { FastifyInstance } from "fastify";
import type { Services } from "../../services/index.js";
import { errorSchema, tokenAuthBody, tokenAuthSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Vault's token endpoints: create, lookup-self, revoke-self. The token itself is returned once, at creation. */
export function authTokenRoutes(app: FastifyInstance, services: Services): void {
  const { tokens } = services;

  vaultWrite(
    app,
    "/v1/auth/token/create",
    {
      config: { auth: "token.create", requires: "token.create" },
      schema: {
        summary: "Create a token (root only until people and groups arrive)",
        tags: ["auth"],
        body: {
          type: "object",
          properties: {
            policies: { type: "array", items: { type: "string", maxLength: 64 }, maxItems: 16 },
            display_name: { type: "string", maxLength: 128, "x-text": "line" },
            meta: {
              type: "object",
              propertyNames: { "x-text": "line" },
              additionalProperties: { type: "string", maxLength: 512, "x-text": "line" },
              maxProperties: 32,
            },
            ttl: {
              type: ["string", "integer"],
              description: "seconds, or a duration such as 8h or 30m; 0 or absent: no expiry",
            },
            no_parent: { type: "boolean" },
          },
        },
        response: {
          200: tokenAuthSchema,
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const body = (request.body ?? {}) as {
        policies?: string[];
        display_name?: string;
        meta?: Record<string, string>;
        ttl?: string | number;
        no_parent?: boolean;
      };
      const { token, record } = await tokens.create(
        {
          policies: body.policies,
          displayName: body.display_name,
          meta: body.meta,
          ttlSeconds: parseTtl(body.ttl),
          noParent: body.no_parent,
        },
        request.ctx,
      );
      return tokenAuthBody(token, record);
    },
  );

  app.get(
    "/v1/auth/token/lookup-self",
    {
      config: { auth: "token.self", requires: "token.self" },
      schema: {
        summary: "Describe the calling token (never the token itself)",
        tags: ["auth"],
        response: {
          200: {
            type: "object",
            properties: {
              data: {
                type: "object",
                properties: {
                  accessor: { type: "string" },
                  display_name: { type: "string" },
                  policies: { type: "array", items: { type: "string" } },
                  meta: { type: "object", additionalProperties: { type: "string" } },
                  creation_time: { type: "integer" },
                  expire_time: { type: ["string", "null"] },
                  ttl: { type: "integer" },
                  orphan: { type: "boolean" },
                  path: { type: "string" },
                  type: { type: "string" },
                  renewable: { type: "boolean" },
                  num_uses: { type: "integer" },
                  entity_id: { type: "string" },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const actor = await tokens.lookupSelf(request.ctx);
      return {
        data: {
          accessor: actor.accessor,
          display_name: actor.displayName,
          policies: actor.policies,
          meta: actor.meta,
          creation_time: Math.floor(Date.parse(actor.createdAt) / 1000),
          expire_time: actor.expiresAt,
          ttl: actor.expiresAt
            ? Math.max(0, Math.round((Date.parse(actor.expiresAt) - Date.now()) / 1000))
            : 0,
          orphan: actor.parentAccessor === null,
          path: "auth/token/create",
          type: "service",
          renewable: false,
          num_uses: 0,
          entity_id: "",
        },
      };
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-self",
    {
      config: { auth: "token.self", requires: "token.self" },
      schema: { summary: "Revoke the calling token", tags: ["auth"], response: { 204: { type: "null" } } },
    },
    async (request, reply) => {
      await tokens.revokeSelf(request.ctx);
      return reply.code(204).send();
    },
  );
}

const DURATION = /^(\d+)(s|m|h|d)?$/;
const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Vault durations: a number of seconds, or "90s", "30m", "8h", "7d". */
function parseTtl(ttl: string | number | undefined): number | undefined {
  if (ttl === undefined || ttl === "") return undefined;
  if (typeof ttl === "number") return ttl;
  const match = ttl.trim().match(DURATION);
  if (!match) return Number.NaN;
  return Number(match[1]) * (SECONDS_PER_UNIT[match[2] ?? "s"] as number);
}
