import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditAction } from "../core/audit-actions.js";
import { badInput, permissionDenied, sealedError } from "../core/errors.js";
import { checkText } from "../core/text.js";
import type { RequestContext } from "../services/context.js";
import type { Services } from "../services/index.js";
import { CSRF_HEADER, sessionTokenFrom } from "./session-cookie.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Answers while sealed (seal status, health, init, unseal, documentation, metrics). */
    sealedOk?: boolean;
    /**
     * The route's one action (core/audit-actions.ts): the request must come with a valid token,
     * is decided by the action's permission before the body is even read (so a caller without it
     * learns nothing of what the endpoint expects: 403, not 400), and its refusals and successes
     * are recorded under it.
     */
    action?: AuditAction;
    /**
     * Needs no token (as in Vault), but a valid one sent in a header names the caller on the
     * record (who started a ceremony). A missing or bad token leaves the caller anonymous.
     */
    identify?: boolean;
    /**
     * A person who must still enable a second factor (their login holds only `mfa-enrolment`) may
     * use it; every other authenticated route refuses them.
     */
    enrolment?: boolean;
  }
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

const MAX_REASON_LENGTH = 500;
const MAX_USER_AGENT_LENGTH = 300;
/** Methods that change nothing, so a cookie alone may authenticate them. */
const SAFE_METHODS = new Set(["GET", "HEAD"]);
/** What browsers say of a request made by this origin's own page, or typed by the user. */
const OWN_FETCH_SITES = new Set(["same-origin", "none"]);
const FOREIGN_FETCH_SITES = new Set(["same-site", "cross-site"]);

/**
 * Gates every request: rate-limited routes count the address first; sealed → 503 unless the route
 * allows it; routes with an `action` get an authenticated actor, let in by the one decision
 * (services/auth/authorizer.ts), which records refusals under that action.
 */
export function installRequestContext(
  app: FastifyInstance,
  services: Services,
  admitWithinRateLimit: (request: FastifyRequest) => Promise<void>,
): void {
  app.decorateRequest("ctx", null as unknown as RequestContext);
  app.addHook("onRequest", async (request) => {
    request.ctx = {
      actor: null,
      requestId: request.id,
      remoteAddr: request.ip ?? null,
      userAgent: cutText(headerValue(request, "user-agent"), MAX_USER_AGENT_LENGTH),
    };
    await admitWithinRateLimit(request);
    // A page elsewhere can make a browser on the inside send writes here (a text/plain POST needs
    // no preflight), even to endpoints that need no token. Browsers name the page's site; API
    // clients (curl, Vault's libraries, the CLI) send no such header and are not affected.
    const fetchSite = headerValue(request, "sec-fetch-site");
    if (!SAFE_METHODS.has(request.method) && fetchSite !== undefined && !OWN_FETCH_SITES.has(fetchSite))
      throw permissionDenied(`permission denied: a write from another site (Sec-Fetch-Site: ${fetchSite})`);
    const config = request.routeOptions.config;
    if (!config?.sealedOk && services.seal.isSealed) throw sealedError();
    // Who is asking, and may they use this endpoint at all, before the body is parsed and validated.
    if (config?.action) {
      const { token, fromCookie } = presentedCredential(request);
      request.ctx.actor = await services.authorizer.authenticate(token, request.ctx, config.action);
      if (fromCookie && token !== undefined)
        await admitSessionCookie(request, services, token, config.action);
      await services.authorizer.enforce(request.ctx, {
        action: config.action,
        target: (request.url.split("?")[0] ?? "").replace(/^\/v1\//, ""),
        enrolling: config.enrolment === true,
      });
    } else if (config?.identify) {
      const { token, fromCookie } = presentedCredential(request);
      // A cookie could ride along a request the person never meant; only a header names them.
      if (!fromCookie) request.ctx.actor = await services.tokens.identify(token);
    }
  });
}

/**
 * The token of a request: API clients send a header (X-Vault-Token, or Authorization: Bearer);
 * only a request with neither header uses the web UI's session cookie.
 */
export function presentedCredential(request: FastifyRequest): {
  token: string | undefined;
  fromCookie: boolean;
} {
  const vaultToken = headerValue(request, "x-vault-token");
  if (vaultToken) return { token: vaultToken.trim(), fromCookie: false };
  const authorization = headerValue(request, "authorization");
  if (authorization !== undefined || vaultToken !== undefined)
    return { token: authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1], fromCookie: false };
  const token = sessionTokenFrom(headerValue(request, "cookie"));
  return { token, fromCookie: token !== undefined };
}

/**
 * A session cookie speaks for its person only on requests their browser says come from our own
 * page or from them (Sec-Fetch-Site `same-origin`, or `none`: typed, bookmarked). SameSite=Strict
 * still sends it with requests made by any page of the same site — a sibling subdomain's
 * `<img src=…/v1/totp/code/x?reason=…>` would read a code in their name — and a browser too old
 * to say where a request comes from is refused rather than trusted. Writes must also echo the
 * session's CSRF token, which only our page knows. Refusals are audited, naming the person.
 */
export async function admitSessionCookie(
  request: FastifyRequest,
  services: Services,
  token: string,
  action: AuditAction,
): Promise<void> {
  const fetchSite = headerValue(request, "sec-fetch-site");
  if (fetchSite === undefined || !OWN_FETCH_SITES.has(fetchSite)) {
    // Only the values browsers send are named: the header could carry anything from a script.
    const from =
      fetchSite === undefined ? "missing" : FOREIGN_FETCH_SITES.has(fetchSite) ? fetchSite : "unknown";
    throw await services.authorizer.refuse(
      request.ctx,
      { action, target: null },
      `session cookie on a request from another page (Sec-Fetch-Site: ${from})`,
      permissionDenied(
        `permission denied: the session cookie is accepted only from this server's own pages (Sec-Fetch-Site: ${from})`,
      ),
    );
  }
  if (!SAFE_METHODS.has(request.method))
    await services.tokens.checkCsrf(token, headerValue(request, CSRF_HEADER), request.ctx, action);
}

/** The reason for a read: `reason` in the query or the X-Breakglass-Reason header. */
export function reasonOf(request: FastifyRequest, fromQuery: string | undefined): string | null {
  const reason = (fromQuery ?? headerValue(request, "x-breakglass-reason") ?? "").trim();
  if (reason.length === 0) return null;
  if (reason.length > MAX_REASON_LENGTH)
    throw badInput(`reason is too long: at most ${MAX_REASON_LENGTH} characters`);
  return checkText(reason, "reason");
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The first `length` UTF-16 units of a header's (well-formed) text, never cutting a surrogate pair in two. */
function cutText(text: string | undefined, length: number): string | null {
  if (text === undefined) return null;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}
