import { AccessorBody, RenewAccessorBody, RenewBody, RenewSelfBody, TokenBody } from "../../api/tokens.js";
import type { DescribedToken } from "../../services/auth/tokens.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { tokenAuthFields, tokenAuthSchema } from "../schemas.js";
import { tokenDuration } from "../token-answers.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Vault's token endpoints that extend or end a token's life: renew-self and revoke-self (every
 * token), and for admins renew, renew-accessor, revoke, revoke-accessor and revoke-orphan.
 * Revoking a token revokes every token made from it, but with revoke-orphan.
 */
export function authTokenLifetimeRoutes(app: RouteApp, services: Services): void {
  const { tokens } = services;
  const renewed = (record: DescribedToken) => ({ auth: tokenAuthFields(record) });
  const renewSummary =
    "as Vault: the expiry becomes now + increment (default: the ttl it was made with), never past explicit_max_ttl nor the parent's expiry; the answer never repeats the token";

  vaultWrite(
    app,
    "/v1/auth/token/renew-self",
    {
      config: { action: "token.renew-self", enrolment: true, vaultShaped: true },
      schema: {
        summary: `Renew the calling token, if renewable; every token may (${renewSummary})`,
        tags: ["auth"],
        body: RenewSelfBody,
        response: { 200: tokenAuthSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      return renewed(await tokens.renewSelf(tokenDuration(body.increment), request.ctx));
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/renew",
    {
      config: { action: "token.renew", vaultShaped: true },
      schema: {
        summary: `Renew the token given in the body (admins; ${renewSummary})`,
        tags: ["auth"],
        body: RenewBody,
        response: { 200: tokenAuthSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const { body } = request;
      return renewed(await tokens.renew(body.token, tokenDuration(body.increment), request.ctx));
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/renew-accessor",
    {
      config: { action: "token.renew-accessor", vaultShaped: true },
      schema: {
        summary: `Renew the token with this accessor (admins; ${renewSummary})`,
        tags: ["auth"],
        body: RenewAccessorBody,
        response: { 200: tokenAuthSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const { body } = request;
      return renewed(await tokens.renewAccessor(body.accessor, tokenDuration(body.increment), request.ctx));
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-self",
    {
      config: { action: "token.revoke-self", enrolment: true },
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
      config: { action: "token.revoke" },
      schema: {
        summary:
          "Revoke a token and every token made from it (admins); an unknown token is no error, as Vault",
        tags: ["auth"],
        body: TokenBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await tokens.revoke(request.body.token, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-orphan",
    {
      config: { action: "token.revoke-orphan" },
      schema: {
        summary: "Revoke a token alone: the tokens made from it become orphans (admins, as Vault's sudo)",
        tags: ["auth"],
        body: TokenBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await tokens.revokeOrphan(request.body.token, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/token/revoke-accessor",
    {
      config: { action: "token.revoke-accessor" },
      schema: {
        summary: "Revoke the token with this accessor and every token made from it (admins)",
        tags: ["auth"],
        body: AccessorBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await tokens.revokeAccessor(request.body.accessor, request.ctx);
      return reply.code(204).send();
    },
  );
}
