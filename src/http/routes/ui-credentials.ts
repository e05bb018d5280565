import type { FastifyInstance } from "fastify";
import { permissionDenied } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import { dataEnvelope } from "../schemas.js";

/** The web UI's list of credentials: those the caller may read, and what reading each takes. */
export function uiCredentialRoutes(app: FastifyInstance, { credentialDirectory }: Services): void {
  app.get(
    "/v1/ui/credentials",
    {
      config: { action: "totp.code.read" },
      schema: {
        summary:
          "The credentials the caller may read, with who may read them and whether a reason or approval is needed",
        tags: ["ui"],
        response: {
          200: dataEnvelope({
            credentials: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  name: { type: "string" },
                  issuer: { type: "string" },
                  account_name: { type: "string" },
                  readers: { type: "array", items: { type: "string" } },
                  approvers: { type: "array", items: { type: "string" } },
                  approvals_required: { type: "integer" },
                  require_reason: { type: "boolean" },
                  step_up: { type: "boolean", description: "a read needs a passkey step-up" },
                },
              },
            },
            approver: {
              type: "boolean",
              description: "whether an access rule names the caller among the approvers of a read",
            },
          }),
          403: errorSchema,
        },
      },
    },
    async (request) => {
      if (!request.ctx.actor) throw permissionDenied();
      const [entries, approver] = await Promise.all([
        credentialDirectory.readableBy(request.ctx.actor),
        credentialDirectory.approvesAny(request.ctx.actor),
      ]);
      return {
        data: {
          credentials: entries.map((entry) => ({
            name: entry.name,
            issuer: entry.issuer,
            account_name: entry.accountName,
            readers: entry.readers,
            approvers: entry.approvers,
            approvals_required: entry.approvalsRequired,
            require_reason: entry.requireReason,
            step_up: entry.stepUp,
          })),
          approver,
        },
      };
    },
  );
}
