import type { FastifyInstance } from "fastify";
import type { Services } from "../../services/index.js";
import { dataEnvelope, errorSchema, listReply, listResponses } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Groups of people (on-call, security, finance): members and the roles they give. */

const nameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", maxLength: 64 } },
} as const;

export function groupRoutes(app: FastifyInstance, services: Services): void {
  const { people } = services;

  vaultWrite(
    app,
    "/v1/groups/:name",
    {
      config: { action: "people.group.write" },
      schema: {
        summary: "Create or replace a group: its members (usernames) and policies",
        tags: ["people"],
        params: nameParams,
        body: {
          type: "object",
          required: ["members"],
          properties: {
            members: { type: "array", items: { type: "string", maxLength: 64 }, maxItems: 1000 },
            policies: { type: "array", items: { type: "string", maxLength: 64 }, maxItems: 64 },
          },
        },
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const body = request.body as { members: string[]; policies?: string[] };
      await people.putGroup(name, { members: body.members, policies: body.policies }, request.ctx);
      return reply.code(204).send();
    },
  );

  app.get(
    "/v1/groups/:name",
    {
      config: { action: "people.read" },
      schema: {
        summary: "A group",
        tags: ["people"],
        params: nameParams,
        response: {
          200: dataEnvelope({
            name: { type: "string" },
            members: { type: "array", items: { type: "string" } },
            policies: { type: "array", items: { type: "string" } },
            updated_at: { type: "string" },
          }),
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const group = await people.getGroup(name);
      return {
        data: {
          name: group.name,
          members: group.members,
          policies: group.policies,
          updated_at: group.updatedAt,
        },
      };
    },
  );

  app.get(
    "/v1/groups",
    {
      config: { action: "people.read" },
      schema: {
        summary: "List group names (GET ?list=true); 404 when there are none",
        tags: ["people"],
        querystring: { type: "object", properties: { list: { type: "string" } } },
        response: listResponses,
      },
    },
    async (_request, reply) => {
      return listReply(reply, await people.listGroups());
    },
  );

  app.delete(
    "/v1/groups/:name",
    {
      config: { action: "people.group.delete" },
      schema: {
        summary: "Delete a group",
        tags: ["people"],
        params: nameParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      await people.deleteGroup(name, request.ctx);
      return reply.code(204).send();
    },
  );
}
