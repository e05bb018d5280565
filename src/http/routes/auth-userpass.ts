import { listQuery } from "../../api/fields.js";
import { ConfirmSecondFactorBody, LoginBody, PutUserBody, UsernameParams } from "../../api/people.js";
import type { Services } from "../../services/index.js";
import type { UserView } from "../../services/people/people.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, listReply, listResponses, tokenAuthBody, tokenAuthSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";
import { relyingPartyOf } from "./auth-passkey.js";

/** Vault's userpass auth method at auth/userpass/: users (admins) and login (anyone). */

const userProperties = {
  username: { type: "string" },
  policies: { type: "array", items: { type: "string" } },
  token_policies: { type: "array", items: { type: "string" } },
  groups: { type: "array", items: { type: "string" } },
  display_name: { type: "string" },
  email: { type: "string" },
  created_at: { type: "string" },
  updated_at: { type: "string" },
  locked_until: { type: ["string", "null"] },
  mfa: { type: "string", description: "the person's own second factor: none, pending or enabled" },
  require_mfa: { type: "boolean" },
  disabled: { type: "boolean", description: "blocked by an admin" },
  sso: { type: "boolean", description: "may sign in with the OpenID provider" },
};

export function authUserpassRoutes(app: RouteApp, services: Services): void {
  const { people, userpass, secondFactor, passkeys } = services;

  vaultWrite(
    app,
    "/v1/auth/userpass/mfa",
    {
      config: { action: "people.mfa.enrol", enrolment: true },
      schema: {
        summary: "Enrol one's own second factor: the otpauth URL and QR code are shown this once",
        tags: ["people"],
        response: {
          200: dataEnvelope({ url: { type: "string" }, barcode: { type: "string" } }),
          400: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request) => ({ data: await secondFactor.enrol(request.ctx) }),
  );

  vaultWrite(
    app,
    "/v1/auth/userpass/mfa/confirm",
    {
      config: { action: "people.mfa.confirm", enrolment: true, rateLimited: "login" },
      schema: {
        summary:
          "Confirm the enrolled second factor with its current code; from then on every login needs one",
        tags: ["people"],
        body: ConfirmSecondFactorBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await secondFactor.confirm(request.body.code, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/userpass/users/:username",
    {
      config: { action: "people.user.write" },
      schema: {
        summary: "Create or update a user (password required on create; argon2id)",
        tags: ["people"],
        params: UsernameParams,
        body: PutUserBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      const body = request.body ?? {};
      await people.putUser(
        username,
        {
          password: body.password,
          policies: body.token_policies ?? body.policies,
          groups: body.groups,
          displayName: body.display_name,
          email: body.email,
          requireMfa: body.require_mfa,
          disabled: body.disabled,
          sso: body.sso,
        },
        request.ctx,
      );
      return reply.code(204).send();
    },
  );

  app.get(
    "/v1/auth/userpass/users/:username",
    {
      config: { action: "people.read" },
      schema: {
        summary: "A user (never the password)",
        tags: ["people"],
        params: UsernameParams,
        response: { 200: dataEnvelope(userProperties), 404: errorSchema },
      },
    },
    async (request) => {
      const { username } = request.params;
      return { data: userBody(await people.getUser(username)) };
    },
  );

  app.get(
    "/v1/auth/userpass/users",
    {
      config: { action: "people.read" },
      schema: {
        summary: "List usernames (LIST as GET ?list=true); 404 when there are none, as Vault",
        tags: ["people"],
        querystring: listQuery,
        response: listResponses,
      },
    },
    async (_request, reply) => {
      return listReply(reply, await people.listUsers());
    },
  );

  app.delete(
    "/v1/auth/userpass/users/:username",
    {
      config: { action: "people.user.delete" },
      schema: {
        summary: "Delete a user and end their tokens",
        tags: ["people"],
        params: UsernameParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      await people.deleteUser(username, request.ctx);
      return reply.code(204).send();
    },
  );

  app.delete(
    "/v1/auth/userpass/users/:username/mfa",
    {
      config: { action: "people.mfa.reset" },
      schema: {
        summary: "Reset a user's second factor (lost or replaced): they enrol a new one at their next login",
        tags: ["people"],
        params: UsernameParams,
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      await secondFactor.reset(username, request.ctx);
      return reply.code(204).send();
    },
  );

  app.delete(
    "/v1/auth/userpass/users/:username/passkeys",
    {
      config: { action: "people.passkey.reset" },
      schema: {
        summary:
          "Remove every passkey of a user (all lost): audited and notified; they register new ones at their next login",
        tags: ["people"],
        params: UsernameParams,
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      await passkeys.reset(request.params.username, request.ctx);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/userpass/login/:username",
    {
      config: { rateLimited: "login", vaultShaped: true },
      schema: {
        summary:
          "Log in with a password (and totp, or passkey: an assertion for POST auth/passkey/login/begin's options, once the person has one); the token expires. Repeated failures lock the user and the address out for a growing time",
        tags: ["people"],
        security: [],
        params: UsernameParams,
        body: LoginBody,
        response: {
          200: tokenAuthSchema,
          400: errorSchema,
          429: errorSchema,
        },
      },
    },
    async (request) => {
      const { username } = request.params;
      const { password, totp, passkey } = request.body;
      const { token, record } = await userpass.login(
        username,
        password,
        totp ?? null,
        request.ctx,
        passkey ? { assertion: passkey, rp: relyingPartyOf(request, services) } : null,
      );
      return tokenAuthBody(token, record);
    },
  );
}

function userBody(user: UserView) {
  return {
    username: user.username,
    policies: user.policies,
    token_policies: user.policies,
    groups: user.groups,
    display_name: user.displayName,
    email: user.email,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    locked_until: user.lockedUntil,
    mfa: user.mfaState,
    require_mfa: user.requireMfa,
    disabled: user.disabled,
    sso: user.sso,
  };
}
