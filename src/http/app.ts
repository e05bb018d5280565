import { randomUUID } from "node:crypto";
import type { ServerOptions as HttpsOptions } from "node:https";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { Services } from "../services/index.js";
import { VERSION } from "../version.js";
import { DEFAULT_BODY_LIMIT_BYTES, installBodyLimits } from "./body-limits.js";
import { installDraining } from "./draining.js";
import { replyWithError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import type { RateLimits } from "./rate-limit-policy.js";
import { installRateLimits } from "./rate-limits.js";
import { installRequestContext } from "./request-context.js";
import { RequestLog } from "./request-log.js";
import { installRequestParsing, notFoundError } from "./request-parsing.js";
import type { RouteApp } from "./route-types.js";
import { approvalRoutes } from "./routes/approvals.js";
import { auditRoutes } from "./routes/audit.js";
import { authOidcRoutes } from "./routes/auth-oidc.js";
import { authPasskeyRoutes } from "./routes/auth-passkey.js";
import { authTokenRoutes } from "./routes/auth-token.js";
import { authTokenLifetimeRoutes } from "./routes/auth-token-lifetime.js";
import { authUserpassRoutes } from "./routes/auth-userpass.js";
import { coverageRoutes } from "./routes/coverage.js";
import { deliveryRoutes } from "./routes/deliveries.js";
import { deviceRoutes } from "./routes/devices.js";
import { groupRoutes } from "./routes/groups.js";
import { metaRoutes } from "./routes/meta.js";
import { notifyRoutes } from "./routes/notify.js";
import { sysAuditSinkRoutes } from "./routes/sys-audit-sinks.js";
import { sysBackupRoutes } from "./routes/sys-backup.js";
import { sysCustodyRoutes } from "./routes/sys-custody.js";
import { sysKeyRoutes } from "./routes/sys-keys.js";
import { sysLeaderRoutes } from "./routes/sys-leader.js";
import { sysSealRoutes } from "./routes/sys-seal.js";
import { totpAccessRoutes } from "./routes/totp-access.js";
import { totpCodeRoutes } from "./routes/totp-code.js";
import { totpKeyRoutes } from "./routes/totp-keys.js";
import { uiCredentialRoutes } from "./routes/ui-credentials.js";
import { uiSessionRoutes } from "./routes/ui-session.js";
import { uiStaticRoutes } from "./routes/ui-static.js";
import { securityHeaders } from "./security-headers.js";
import { textKeyword } from "./text-schema.js";

export interface AppOptions {
  /** A pino logger, or false for none (tests). */
  logger: FastifyBaseLogger | false;
  /** Node's TLS options (certificate, key, protocol versions, ciphers: src/server/tls.ts), or none. */
  https?: HttpsOptions | null;
  /** Where the built web UI is (default dist/ui/); tests give a directory of their own. */
  uiDirectory?: string;
  /** Requests a minute per address and route, by group (rate-limit-policy.ts). */
  rateLimits: RateLimits;
  /** Hears of every error a request failed with that the machine caused (a full disk…): answered 503. */
  onStorageFault?: (error: Error) => void;
}

/** The HTTP API: Vault's paths where Vault has the feature, breakglass's own elsewhere. */
export async function buildApp(services: Services, metrics: Metrics, options: AppOptions): Promise<RouteApp> {
  const setSecurityHeaders = securityHeaders({ tls: Boolean(options.https) });
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES, // each route's own: body-limits.ts
    genReqId: () => randomUUID(),
    // A request reaching a route while closing is served, not refused in a non-Vault shape (draining.ts).
    return503OnClosing: false,
    logController: new RequestLog(),
    // Long enough that a too-long key name reaches our own validation and its clear message.
    routerOptions: { maxParamLength: 512 },
    // Malformed URLs and the like: answered in Vault's error shape like everything else.
    frameworkErrors: (error, request, reply) =>
      replyWithError(error, request, setSecurityHeaders(request, reply)),
    ajv: {
      customOptions: {
        removeAdditional: true,
        coerceTypes: "array",
        useDefaults: true,
        allErrors: false,
        allowUnionTypes: true,
        keywords: [textKeyword], // free text: "x-text" (text-schema.ts)
      },
    },
  }) as unknown as RouteApp;

  // Every answer, refusals at the door included, names its request: the same id as in the audit entry and the log.
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installRequestParsing(app);
  installBodyLimits(app);
  app.setErrorHandler((error, request, reply) =>
    replyWithError(error as Error, request, reply, options.onStorageFault),
  );
  // Reached only if the door's own not-found answer (request-parsing.ts) were bypassed.
  app.setNotFoundHandler(async (request) => {
    throw notFoundError(request);
  });
  app.addHook("onResponse", async (request, reply) => {
    metrics.requests.observe(
      { method: request.method, route: request.routeOptions.url ?? "unknown", status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
  });

  installDraining(app);
  app.addHook("onSend", async (request, reply, payload) => {
    setSecurityHeaders(request, reply);
    return payload;
  });
  // Before the API document is made: it lists the 429 of every limited route.
  const admitWithinRateLimit = await installRateLimits(app, options.rateLimits);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "breakglass",
        version: VERSION,
        description:
          "Shared custody of MFA seeds. Vault-compatible where Vault has the feature (sys/*, auth/token/*, totp/*).",
      },
      components: {
        securitySchemes: {
          vaultToken: { type: "apiKey", in: "header", name: "X-Vault-Token" },
          bearer: { type: "http", scheme: "bearer" },
        },
      },
      security: [{ vaultToken: [] }, { bearer: [] }],
    },
  });

  installRequestContext(app, services, admitWithinRateLimit);
  sysSealRoutes(app, services);
  sysLeaderRoutes(app);
  sysBackupRoutes(app, services);
  sysCustodyRoutes(app, services);
  sysKeyRoutes(app, services);
  authTokenRoutes(app, services);
  authTokenLifetimeRoutes(app, services);
  totpKeyRoutes(app, services);
  totpCodeRoutes(app, services);
  auditRoutes(app, services);
  authUserpassRoutes(app, services);
  authOidcRoutes(app, services);
  authPasskeyRoutes(app, services);
  groupRoutes(app, services);
  totpAccessRoutes(app, services);
  approvalRoutes(app, services);
  deviceRoutes(app, services);
  sysAuditSinkRoutes(app, services);
  notifyRoutes(app, services);
  deliveryRoutes(app, services);
  coverageRoutes(app, services);
  uiSessionRoutes(app, services);
  uiCredentialRoutes(app, services);
  uiStaticRoutes(app, options.uiDirectory);
  metaRoutes(app, metrics);
  await app.ready();
  return app;
}
