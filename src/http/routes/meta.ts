import type {} from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import type { Metrics } from "../metrics.js";

/** The API description and Prometheus metrics: no secrets, so they answer while sealed. */
export function metaRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get("/v1/openapi.json", { config: { sealedOk: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  app.get("/metrics", { config: { sealedOk: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
