import { listQuery } from "../../api/fields.js";
import { GroupNameParams, PutGroupBody } from "../../api/people.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, listReply, listResponses } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Groups of people (on-call, security, finance): members and the roles they give. */

export function groupRoutes(app: RouteApp, services: Services): void {
  const { people } = services;

  vaultWrite(
    app,
    "/v1/groups/:name",
    {
      config: { action: "people.group.write" },
      schema: {
        summary: "Create or replace a group: its members (usernames) and policies",
        tags: ["people"],
        params: GroupNameParams,
        body: PutGroupBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { body } = request;
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
        params: GroupNameParams,
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
      const { name } = request.params;
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
        querystring: listQuery,
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
        params: GroupNameParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await people.deleteGroup(name, request.ctx);
      return reply.code(204).send();
    },
  );
}
