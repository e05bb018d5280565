import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The one place that decides the security headers of every answer: the API, its errors, 404s,
 * /metrics and the web UI. app.ts sets them just before sending (onSend), so no path around a
 * route — a refusal in a hook, the not-found handler — goes without them, and on the framework's
 * own refusals (a malformed URL), which skip the hooks.
 */

declare module "fastify" {
  interface FastifyContextConfig {
    /** A page or asset of the web UI: gets the UI's content security policy instead of the API's. */
    webUi?: boolean;
  }
}

/** The UI's own scripts and styles only, nothing inline, no framing, connections back to this server only. */
export const UI_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
  "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** JSON and text answers load nothing and are framed nowhere, should a browser ever render one. */
const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

const EVERY_ANSWER = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

/** Two years, as browsers' preload lists ask; no includeSubDomains: other hosts of the domain are not ours to bind. */
const STRICT_TRANSPORT_SECURITY = "max-age=63072000";

export function securityHeaders(options: {
  tls: boolean;
}): (request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (request, reply) => {
    reply.headers(EVERY_ANSWER);
    reply.header(
      "content-security-policy",
      request.routeOptions.config?.webUi ? UI_CONTENT_SECURITY_POLICY : API_CONTENT_SECURITY_POLICY,
    );
    // Codes and tokens must never sit in a cache; only the UI's hashed assets say otherwise.
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    if (options.tls) reply.header("strict-transport-security", STRICT_TRANSPORT_SECURITY);
    return reply;
  };
}
