import { listQuery } from "../../api/fields.js";
import { AccessorBody, CreateTokenBody, TokenBody } from "../../api/tokens.js";
import { badInput } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { listReply, listResponses, tokenAuthBody, tokenAuthSchema } from "../schemas.js";
import { tokenDuration, tokenLookupData, tokenLookupSchema } from "../token-answers.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Vault's token endpoints that make and describe tokens: create and create-orphan, lookup-self
 * (every token), and for admins lookup, lookup-accessor and the accessor list. The token itself is
 * returned once, at creation. Renewing and revoking: auth-token-lifetime.ts.
 */
export function authTokenRoutes(app: RouteApp, services: Services): void {
  const { tokens } = services;

  for (const [path, summary] of [
    [
      "create",
      "Create a token: a child of the caller's (an orphan with no_parent), answering to the same person, never outliving its parent, with no role beyond the caller's",
    ],
    ["create-orphan", "Create an orphan token: as create with no_parent, as Vault's create-orphan"],
  ] as const)
    vaultWrite(
      app,
      `/v1/auth/token/${path}`,
      {
        config: { action: "token.create", vaultShaped: true },
        schema: {
          summary,
          tags: ["auth"],
          body: CreateTokenBody,
          response: { 200: tokenAuthSchema, 400: errorSchema },
        },
      },
      async (request) => {
        const body = request.body ?? {};
        refuseUnsupported(body);
        const { token, record } = await tokens.create(
          {
            policies: body.policies,
            noDefaultPolicy: body.no_default_policy,
            displayName: body.display_name,
            meta: body.meta,
            ttlSeconds: tokenDuration(body.ttl ?? body.lease),
            explicitMaxTtlSeconds: tokenDuration(body.explicit_max_ttl),
            renewable: body.renewable,
            noParent: path === "create-orphan" || body.no_parent,
            path: `auth/token/${path}`,
          },
          request.ctx,
        );
        return tokenAuthBody(token, record);
      },
    );

  app.get(
    "/v1/auth/token/lookup-self",
    {
      config: { action: "token.lookup-self", enrolment: true },
      schema: {
        summary: "Describe the calling token (never the token itself); every token may",
        tags: ["auth"],
        response: { 200: tokenLookupSchema },
      },
    },
    async (request) => ({
      data: tokenLookupData(await tokens.lookupSelf(request.ctx), services.clock.now()),
    }),
  );

  vaultWrite(
    app,
    "/v1/auth/token/lookup",
    {
      config: { action: "token.lookup" },
      schema: {
        summary: "Describe the token given in the body, never repeating it (admins)",
        tags: ["auth"],
        body: TokenBody,
        response: { 200: tokenLookupSchema, 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => ({
      data: tokenLookupData(await tokens.lookup(request.body.token, request.ctx), services.clock.now()),
    }),
  );

  vaultWrite(
    app,
    "/v1/auth/token/lookup-accessor",
    {
      config: { action: "token.lookup-accessor" },
      schema: {
        summary: "Describe the token with this accessor (admins)",
        tags: ["auth"],
        body: AccessorBody,
        response: { 200: tokenLookupSchema, 400: errorSchema },
      },
    },
    async (request) => ({
      data: tokenLookupData(
        await tokens.lookupAccessor(request.body.accessor, request.ctx),
        services.clock.now(),
      ),
    }),
  );

  app.get(
    "/v1/auth/token/accessors",
    {
      config: { action: "token.list-accessors" },
      schema: {
        summary:
          "List the accessors of every token that has not expired (Vault's LIST, as GET ?list=true; admins)",
        tags: ["auth"],
        querystring: listQuery,
        response: listResponses,
      },
    },
    async (request, reply) => listReply(reply, await tokens.listAccessors(request.ctx)),
  );
}

/** Vault's token kinds breakglass does not make: refused out loud rather than silently ignored. */
function refuseUnsupported(body: CreateTokenBody): void {
  if (body.type === "batch")
    throw badInput(
      "batch tokens are not supported: breakglass makes service tokens only, each one revocable",
    );
  if (body.type !== undefined && body.type !== "" && body.type !== "service")
    throw badInput("invalid 'token_type' value");
  if (body.id !== undefined && body.id !== "")
    throw badInput(
      "a caller-chosen token (id) is not supported: every token is 32 random bytes made by the server",
    );
  if (body.num_uses !== undefined && body.num_uses !== 0)
    throw badInput("num_uses is not supported: tokens have no use limit (give a ttl, or revoke the token)");
  const period = tokenDuration(body.period);
  if (period !== undefined && period !== 0)
    throw badInput("periodic tokens (period) are not supported: give a ttl, and renew it");
}
