import { SinkBody, SinkNameParams } from "../../api/audit.js";
import type { SinkView } from "../../services/audit/sinks/sink-admin.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Audit sinks, beside Vault's `sys/audit` devices: sys/audit/sinks/:name. Admin and root (`audit.configure`). Secret
 * options (a webhook's authorization) go in and never come back out. docs/audit-sinks.md.
 */

const sinkProperties = {
  type: { type: "string", description: "file, syslog or webhook" },
  description: { type: "string" },
  options: { type: "object", additionalProperties: true, description: "without secret options" },
  required: { type: "boolean", description: "code reads wait for this sink and fail when it fails" },
  source: { type: "string", description: "config (the server's config file) or api" },
  secrets: { type: "array", items: { type: "string" }, description: "secret options that are set" },
  updated_at: { type: ["string", "null"] },
};

export function sysAuditSinkRoutes(app: RouteApp, services: Services): void {
  const { auditSinks } = services;

  app.get(
    "/v1/sys/audit/sinks",
    {
      config: { action: "audit.sink.read" },
      schema: {
        summary: "Every audit sink by name, from the config file and from this API",
        tags: ["audit"],
        response: {
          200: {
            type: "object",
            properties: {
              data: { type: "object", additionalProperties: { type: "object", properties: sinkProperties } },
            },
          },
        },
      },
    },
    async (request) => {
      const sinks = await auditSinks.list(request.ctx);
      return { data: Object.fromEntries(sinks.map((sink) => [sink.name, sinkBody(sink)])) };
    },
  );

  app.get(
    "/v1/sys/audit/sinks/:name",
    {
      config: { action: "audit.sink.read" },
      schema: {
        summary: "One audit sink",
        tags: ["audit"],
        params: SinkNameParams,
        response: {
          200: dataEnvelope({ name: { type: "string" }, ...sinkProperties }),
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const sink = await auditSinks.read(name, request.ctx);
      return { data: { name: sink.name, ...sinkBody(sink) } };
    },
  );

  vaultWrite(
    app,
    "/v1/sys/audit/sinks/:name",
    {
      config: { action: "audit.sink.write" },
      schema: {
        summary: "Create or replace an audit sink (every node opens it within 2 seconds)",
        tags: ["audit"],
        params: SinkNameParams,
        body: SinkBody,
        response: { 204: { type: "null" }, 400: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await auditSinks.write(name, request.body ?? {}, request.ctx);
      return reply.code(204).send();
    },
  );

  app.delete(
    "/v1/sys/audit/sinks/:name",
    {
      config: { action: "audit.sink.delete" },
      schema: {
        summary: "Remove an audit sink (what it still holds gets 2 seconds to leave)",
        tags: ["audit"],
        params: SinkNameParams,
        response: { 204: { type: "null" }, 400: errorSchema, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await auditSinks.delete(name, request.ctx);
      return reply.code(204).send();
    },
  );
}

function sinkBody(sink: SinkView) {
  return {
    type: sink.type,
    description: sink.description,
    options: sink.options,
    required: sink.required,
    source: sink.source,
    secrets: sink.secrets,
    updated_at: sink.updatedAt,
  };
}
