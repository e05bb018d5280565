import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { TooManyAttemptsError } from "../core/errors.js";
import { errorSchema } from "./error-schema.js";
import type { RateLimitGroup, RateLimits } from "./rate-limit-policy.js";

/**
 * Per-route rate limits on the endpoints that take shares, passwords, codes or votes — most of
 * them answer without a token. Counted per remote address (an IPv6 /64 as one) and per route,
 * in memory on each node (docs/operations.md).
 */

const WINDOW_MS = 60_000;

declare module "fastify" {
  interface FastifyContextConfig {
    /** This route is rate-limited with its group's limit (rate-limit-policy.ts). */
    rateLimited?: RateLimitGroup;
  }
}

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;

/** Registers the limiter and documents the 429 of every limited route; returns the check the request gate makes. */
export async function installRateLimits(
  app: FastifyInstance,
  limits: RateLimits,
): Promise<(request: FastifyRequest) => Promise<void>> {
  await app.register(rateLimit, { global: false });
  const limiters = new Map<string, Limiter>();
  app.addHook("onRoute", (route) => {
    const group = route.config?.rateLimited;
    if (!group) return;
    // One counter a path: PUT and POST of a Vault write, or a ceremony's start and cancel, share it.
    if (!limiters.has(route.url))
      limiters.set(route.url, app.createRateLimit({ max: limits[group], timeWindow: WINDOW_MS }));
    if (route.schema) route.schema.response = { 429: errorSchema, ...(route.schema.response as object) };
  });

  return async (request) => {
    const group = request.routeOptions.config?.rateLimited;
    const limiter = group ? limiters.get(request.routeOptions.url ?? "") : undefined;
    if (!group || !limiter) return;
    const verdict = await limiter(request);
    if (verdict.isAllowed || !verdict.isExceeded) return;
    request.log.warn(
      { route: request.routeOptions.url, remote_addr: request.ip, limit_per_minute: limits[group] },
      "rate limit exceeded: request refused",
    );
    throw new TooManyAttemptsError(
      `too many requests to ${request.routeOptions.url} from this address (at most ${limits[group]} a minute): try again in ${verdict.ttlInSeconds} s`,
      verdict.ttlInSeconds,
    );
  };
}
