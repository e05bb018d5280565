import { listQuery } from "../../api/fields.js";
import { AuthUrlBody, CallbackQuery, OidcConfigBody, OidcRoleBody, OidcRoleParams } from "../../api/oidc.js";
import type { OidcRole } from "../../services/auth/oidc-settings.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, listReply, listResponses, tokenAuthBody, tokenAuthSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Vault's JWT/OIDC auth method at auth/oidc/: the provider's settings and roles (admins), and the
 * sign-in (anyone): oidc/auth_url starts it, oidc/callback finishes it (docs/sso.md).
 */

const texts = { type: "array", items: { type: "string" } } as const;
const roleProperties = {
  role_type: { type: "string" },
  user_claim: { type: "string" },
  groups_claim: { type: "string" },
  bound_audiences: texts,
  allowed_redirect_uris: texts,
  oidc_scopes: texts,
  token_ttl: { type: "integer", description: "seconds" },
  token_policies: texts,
  create_users: { type: "boolean" },
  group_mappings: { type: "object", additionalProperties: { type: "string" } },
};

export function authOidcRoutes(app: RouteApp, services: Services): void {
  const { oidcSettings, oidc } = services;

  vaultWrite(
    app,
    "/v1/auth/oidc/config",
    {
      config: { action: "auth.oidc.configure" },
      schema: {
        summary:
          "Configure the OpenID provider (its discovery document is read now; the client secret is kept sealed, never shown)",
        tags: ["people"],
        body: OidcConfigBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await oidcSettings.writeConfig(request.body, request.ctx);
      return reply.code(204).send();
    },
  );

  app.get(
    "/v1/auth/oidc/config",
    {
      config: { action: "people.read" },
      schema: {
        summary: "The OpenID provider's settings (never the client secret)",
        tags: ["people"],
        response: {
          200: dataEnvelope({
            oidc_discovery_url: { type: "string" },
            oidc_client_id: { type: "string" },
            has_client_secret: { type: "boolean" },
            default_role: { type: "string" },
            updated_at: { type: "string" },
          }),
          404: errorSchema,
        },
      },
    },
    async () => {
      const config = await oidcSettings.readConfig();
      return {
        data: {
          oidc_discovery_url: config.discoveryUrl,
          oidc_client_id: config.clientId,
          has_client_secret: config.hasClientSecret,
          default_role: config.defaultRole,
          updated_at: config.updatedAt,
        },
      };
    },
  );

  vaultWrite(
    app,
    "/v1/auth/oidc/role/:name",
    {
      config: { action: "auth.oidc.configure", vaultShaped: true },
      schema: {
        summary:
          "Create or replace a sign-in role: which claim names the person, which groups map, how long a login lives",
        tags: ["people"],
        params: OidcRoleParams,
        body: OidcRoleBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await oidcSettings.writeRole(request.params.name, request.body, request.ctx);
      return reply.code(204).send();
    },
  );

  app.get(
    "/v1/auth/oidc/role/:name",
    {
      config: { action: "people.read" },
      schema: {
        summary: "A sign-in role",
        tags: ["people"],
        params: OidcRoleParams,
        response: { 200: dataEnvelope(roleProperties), 404: errorSchema },
      },
    },
    async (request) => ({ data: roleBody(await oidcSettings.readRole(request.params.name)) }),
  );

  app.get(
    "/v1/auth/oidc/role",
    {
      config: { action: "people.read" },
      schema: {
        summary: "List the sign-in roles (LIST as GET ?list=true); 404 when there are none, as Vault",
        tags: ["people"],
        querystring: listQuery,
        response: listResponses,
      },
    },
    async (_request, reply) => listReply(reply, await oidcSettings.listRoles()),
  );

  app.delete(
    "/v1/auth/oidc/role/:name",
    {
      config: { action: "auth.oidc.configure" },
      schema: {
        summary: "Remove a sign-in role: tokens from it are no longer renewed",
        tags: ["people"],
        params: OidcRoleParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await oidcSettings.deleteRole(request.params.name, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/oidc/oidc/auth_url",
    {
      config: { rateLimited: "login", vaultShaped: true },
      schema: {
        summary:
          "Start a sign-in: the provider's authorization URL (code flow with PKCE, state and nonce), valid 10 minutes",
        tags: ["people"],
        security: [],
        body: AuthUrlBody,
        response: {
          200: dataEnvelope({ auth_url: { type: "string" } }),
          400: errorSchema,
          429: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => ({ data: { auth_url: await oidc.authUrl(request.body, request.ctx) } }),
  );

  app.get(
    "/v1/auth/oidc/oidc/callback",
    {
      config: { rateLimited: "login" },
      schema: {
        summary:
          "Finish a sign-in with the provider's code and state (and the client_nonce given to auth_url): the person's login token",
        tags: ["people"],
        security: [],
        querystring: CallbackQuery,
        response: { 200: tokenAuthSchema, 400: errorSchema, 429: errorSchema, 503: errorSchema },
      },
    },
    async (request) => {
      const { token, record } = await oidc.callback(request.query, request.ctx);
      return tokenAuthBody(token, record);
    },
  );
}

function roleBody(role: OidcRole) {
  return {
    role_type: "oidc",
    user_claim: role.userClaim,
    groups_claim: role.groupsClaim ?? "",
    bound_audiences: role.boundAudiences,
    allowed_redirect_uris: role.allowedRedirectUris,
    oidc_scopes: role.scopes,
    token_ttl: role.tokenTtlSeconds,
    token_policies: role.tokenPolicies,
    create_users: role.createUsers,
    group_mappings: role.groupMappings,
  };
}
