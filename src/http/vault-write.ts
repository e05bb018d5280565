import type { FastifyInstance, RouteHandlerMethod, RouteShorthandOptions } from "fastify";

/** Vault takes a write as PUT or POST alike (its CLI sends PUT, most client libraries POST). */
export function vaultWrite(
  app: FastifyInstance,
  url: string,
  options: RouteShorthandOptions,
  handler: RouteHandlerMethod,
): void {
  app.route({ ...options, method: ["PUT", "POST"], url, handler });
}
