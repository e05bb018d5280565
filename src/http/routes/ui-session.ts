import type { FastifyRequest } from "fastify";
import { OidcSessionBody } from "../../api/oidc.js";
import { OpenSessionBody } from "../../api/people.js";
import { BreakglassError, badInput } from "../../core/errors.js";
import type { Actor } from "../../services/context.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import { admitSessionCookie, presentedCredential } from "../request-context.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { clearedSessionCookie, sessionCookie } from "../session-cookie.js";
import { relyingPartyOf } from "./auth-passkey.js";

/**
 * The web UI's session (docs/ui.md): a login whose token goes into an HttpOnly cookie, never into
 * the JSON, so the page's scripts cannot leak it. Writes with the cookie need the CSRF token.
 */

const sessionSchema = dataEnvelope({
  csrf_token: { type: "string", description: "send it as the X-Breakglass-CSRF header with every write" },
  username: { type: ["string", "null"], description: "the person; null for a token that is not a login" },
  display_name: { type: "string" },
  policies: { type: "array", items: { type: "string" } },
  expires_at: { type: ["string", "null"], description: "when the session's token ends; null: never" },
  second_factor: { type: "string", enum: ["none", "pending", "enabled"] },
  require_second_factor: {
    type: "boolean",
    description: "an admin requires one: until it is enabled, the session can only enrol it",
  },
});

export function uiSessionRoutes(app: RouteApp, services: Services): void {
  const { tokens, authorizer, userpass, people, oidc } = services;

  const sessionBody = async (
    token: string,
    actor: Pick<Actor, "username" | "displayName" | "policies" | "expiresAt">,
  ) => {
    const person = actor.username ? await people.profileOf(actor.username) : null;
    return {
      data: {
        csrf_token: tokens.csrfTokenOf(token),
        username: actor.username,
        display_name: person?.displayName ?? actor.displayName,
        policies: actor.policies,
        expires_at: actor.expiresAt,
        second_factor: person?.mfaState ?? "none",
        require_second_factor: person?.requireMfa ?? false,
      },
    };
  };

  app.post(
    "/v1/ui/session",
    {
      config: { rateLimited: "login" },
      schema: {
        summary:
          "Open a browser session: username and password (as userpass login, same lockout), or an existing token. The token goes into the bg_session cookie only",
        tags: ["ui"],
        security: [],
        body: OpenSessionBody,
        response: { 200: sessionSchema, 400: errorSchema, 403: errorSchema, 429: errorSchema },
      },
    },
    async (request, reply) => {
      requireJsonBody(request);
      const { token, actor } = await openSession(request.body, request);
      reply.header("set-cookie", sessionCookie(token, actor.expiresAt, services.clock.now()));
      return sessionBody(token, actor);
    },
  );

  app.post(
    "/v1/ui/session/oidc",
    {
      config: { rateLimited: "login" },
      schema: {
        summary:
          "Open a browser session from a sign-in with the OpenID provider: what it sent the browser back with, and the client_nonce the page gave auth_url. The token goes into the bg_session cookie only",
        tags: ["ui"],
        security: [],
        body: OidcSessionBody,
        response: { 200: sessionSchema, 400: errorSchema, 429: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      requireJsonBody(request);
      const { token, record } = await oidc.callback(request.body, request.ctx, true);
      const { tokenHmac: _hmac, ...actor } = record;
      reply.header("set-cookie", sessionCookie(token, actor.expiresAt, services.clock.now()));
      return sessionBody(token, actor);
    },
  );

  app.get(
    "/v1/ui/session",
    {
      schema: {
        summary:
          "The browser session of the bg_session cookie (never its token); data is null when there is none, so a page load logs no error",
        tags: ["ui"],
        response: {
          200: {
            type: "object",
            properties: { data: { ...sessionSchema.properties.data, type: ["object", "null"] } },
          },
        },
      },
    },
    async (request, reply) => {
      const { token, fromCookie } = presentedCredential(request);
      if (!token) return { data: null };
      let actor: Actor;
      try {
        actor = await authorizer.authenticate(token, request.ctx, "ui.session.read");
        request.ctx.actor = actor;
        await authorizer.enforce(request.ctx, { action: "ui.session.read", target: null, enrolling: true });
      } catch (error) {
        if (!(error instanceof BreakglassError) || error.code !== "PERMISSION_DENIED") throw error;
        // Expired, revoked or forged: the browser forgets it (the refusal is on the audit log).
        reply.header("set-cookie", clearedSessionCookie());
        return { data: null };
      }
      if (fromCookie) await admitSessionCookie(request, services, token, "ui.session.read");
      // Not tokens.lookupSelf: every page load reads the session, and its allowed reads are not
      // recorded (refusals only), so they do not bury the log in token.lookup-self entries.
      return sessionBody(token, actor);
    },
  );

  app.delete(
    "/v1/ui/session",
    {
      config: { action: "ui.session.close", enrolment: true },
      schema: {
        summary: "Log out: revoke the session's token and clear the cookie (needs X-Breakglass-CSRF)",
        tags: ["ui"],
        response: { 204: { type: "null" }, 400: errorSchema, 403: errorSchema },
      },
    },
    async (request, reply) => {
      // Ending an API client's token here by mistake would surprise it: that is revoke-self's job.
      if (!presentedCredential(request).fromCookie)
        throw badInput(
          "this ends a browser session (the bg_session cookie); an API token ends with POST /v1/auth/token/revoke-self",
        );
      await tokens.revokeSelf(request.ctx);
      return reply.header("set-cookie", clearedSessionCookie()).code(204).send();
    },
  );

  async function openSession(body: OpenSessionBody, request: FastifyRequest) {
    const byPassword = body.username !== undefined || body.password !== undefined;
    if (body.token !== undefined && !byPassword) {
      request.ctx.actor = await authorizer.authenticate(body.token, request.ctx, "ui.session.open");
      await authorizer.enforce(request.ctx, { action: "ui.session.open", target: null, enrolling: true });
      // The cookie holds a child of the pasted token: signing out must not end the root token.
      const { token, record } = await tokens.issueSessionToken(request.ctx);
      const { tokenHmac: _hmac, ...actor } = record;
      return { token, actor };
    }
    if (body.token !== undefined || body.username === undefined || body.password === undefined)
      throw badInput(
        "give either username and password (and totp once a second factor is enabled), or token",
      );
    const { token, record } = await userpass.login(
      body.username,
      body.password,
      body.totp ?? null,
      request.ctx,
      body.passkey ? { assertion: body.passkey, rp: relyingPartyOf(request, services) } : null,
    );
    const { tokenHmac: _hmac, ...actor } = record;
    return { token, actor };
  }
}

/**
 * A page on another site can post a form or a "simple" fetch here, but not with this content
 * type without a CORS preflight we never grant: so no site can log a browser into its account.
 */
function requireJsonBody(request: FastifyRequest): void {
  const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw badInput("send the body as JSON with Content-Type: application/json");
}
