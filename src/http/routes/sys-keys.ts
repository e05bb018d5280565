import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import { vaultWrite } from "../vault-write.js";

/** Vault's data key endpoints: rotate and key-status. docs/vault-compatibility.md says what differs. */

const keyStatusFields = {
  term: { type: "integer", description: "the current data key version" },
  install_time: { type: "string", description: "when it was added (RFC 3339)" },
  encryptions: {
    type: "integer",
    description: "secrets sealed under the current term (Vault: an estimate of encryptions made)",
  },
  rows_by_version: {
    type: "object",
    additionalProperties: { type: "integer" },
    description: "sealed secrets per data key version",
  },
  reencryption_running: {
    type: "boolean",
    description: "whether this node is re-encrypting older secrets under the current term",
  },
} as const;

export function sysKeyRoutes(app: FastifyInstance, services: Services): void {
  const { keyRotation } = services;

  const rotateHandler = {
    config: { action: "sys.rotate" as const },
    schema: {
      summary:
        "Add a data key version: new secrets are sealed under it, older ones re-encrypted in the background",
      tags: ["sys"],
      response: { 204: { type: "null" }, 409: errorSchema },
    },
  };
  const rotate = async (request: FastifyRequest, reply: FastifyReply) => {
    await keyRotation.rotate(request.ctx);
    return reply.code(204).send();
  };
  vaultWrite(app, "/v1/sys/rotate", rotateHandler, rotate);

  app.get(
    "/v1/sys/key-status",
    {
      config: { action: "sys.key-status" },
      schema: {
        summary: "The current data key: its term and install time, and how many secrets each version seals",
        tags: ["sys"],
        response: {
          // As Vault's sys/key-status: the fields at the top level and again under `data`.
          200: {
            type: "object",
            properties: { ...keyStatusFields, data: { type: "object", properties: keyStatusFields } },
          },
        },
      },
    },
    async (_request) => {
      const status = await keyRotation.status();
      const data = {
        term: status.term,
        install_time: status.installTime,
        encryptions: status.rowsByVersion[String(status.term)] ?? 0,
        rows_by_version: status.rowsByVersion,
        reencryption_running: status.reencryptionRunning,
      };
      return { ...data, data };
    },
  );
}
