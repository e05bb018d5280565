import type { FastifyInstance } from "fastify";
import type { Services } from "../../services/index.js";
import type { TokenRecord } from "../../store/store.js";
import { errorSchema, listReply, listResponses, tokenAuthBody, tokenAuthSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Vault's token endpoints: create, lookup-self and revoke-self (every token), and for admins
 * revoke, revoke-accessor, lookup-accessor and the accessor list. The token itself is returned
 * once, at creation. Revoking a token revokes every token made from it.
 */
export function authTokenRoutes(app: FastifyInstance, services: Services): void {
  const { tokens } = services;

  vaultWrite(
    app,
    "/v1/auth/token/create",
    {
      config: { auth: "token.create", requires: "token.create" },
      schema: {
        summary:
          "Create a token: a child of the caller's (an orphan with no_parent), answering to the same person, never outliving its parent, with no role beyond the caller's",
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
      config: { auth: "token.lookup-self", enrolment: true },
      schema: {
        summary: "Describe the calling token (never the token itself); every token may",
        tags: ["auth"],
        response: { 200: tokenLookupSchema },
      },
    },
    async (request) => ({ data: tokenLookupData(await tokens.lookupSelf(request.ctx)) }),
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-self",
    {
      config: { auth: "token.revoke-self", enrolment: true },
      schema: {
        summary: "Revoke the calling token and every token made from it; every token may",
        tags: ["auth"],
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await tokens.revokeSelf(request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke",
    {
      config: { auth: "token.revoke", requires: "token.manage" },
      schema: {
        summary:
          "Revoke a token and every token made from it (admins); an unknown token is no error, as Vault",
        tags: ["auth"],
        body: {
          type: "object",
          required: ["token"],
          properties: { token: { type: "string", minLength: 1, maxLength: 200 } },
        },
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await tokens.revoke((request.body as { token: string }).token, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-accessor",
    {
      config: { auth: "token.revoke-accessor", requires: "token.manage" },
      schema: {
        summary: "Revoke the token with this accessor and every token made from it (admins)",
        tags: ["auth"],
        body: accessorBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await tokens.revokeAccessor((request.body as { accessor: string }).accessor, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/lookup-accessor",
    {
      config: { auth: "token.lookup-accessor", requires: "token.manage" },
      schema: {
        summary: "Describe the token with this accessor (admins)",
        tags: ["auth"],
        body: accessorBody,
        response: { 200: tokenLookupSchema, 400: errorSchema },
      },
    },
    async (request) => ({
      data: tokenLookupData(
        await tokens.lookupAccessor((request.body as { accessor: string }).accessor, request.ctx),
      ),
    }),
  );

  app.get(
    "/v1/auth/token/accessors",
    {
      config: { auth: "token.list-accessors", requires: "token.manage" },
      schema: {
        summary:
          "List the accessors of every token that has not expired (Vault's LIST, as GET ?list=true; admins)",
        tags: ["auth"],
        querystring: { type: "object", properties: { list: { type: "string" } } },
        response: listResponses,
      },
    },
    async (request, reply) => listReply(reply, await tokens.listAccessors(request.ctx)),
  );
}

const accessorBody = {
  type: "object",
  required: ["accessor"],
  properties: { accessor: { type: "string", minLength: 1, maxLength: 64 } },
} as const;

const tokenLookupSchema = {
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
        owner: {
          type: "string",
          description:
            "who answers for the token: user:NAME, or token:ACCESSOR of the root token whose line it is",
        },
        path: { type: "string" },
        type: { type: "string" },
        renewable: { type: "boolean" },
        num_uses: { type: "integer" },
        entity_id: { type: "string" },
      },
    },
  },
} as const;

/** Vault's lookup answer for a token (never the token itself), with who answers for it. */
function tokenLookupData(token: Omit<TokenRecord, "tokenHmac">) {
  return {
    accessor: token.accessor,
    display_name: token.displayName,
    policies: token.policies,
    meta: token.meta,
    creation_time: Math.floor(Date.parse(token.createdAt) / 1000),
    expire_time: token.expiresAt,
    ttl: token.expiresAt ? Math.max(0, Math.round((Date.parse(token.expiresAt) - Date.now()) / 1000)) : 0,
    orphan: token.parentAccessor === null,
    owner: token.owner,
    path: "auth/token/create",
    type: "service",
    renewable: false,
    num_uses: 0,
    entity_id: "",
  };
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
