import type { FastifyInstance } from "fastify";
import type { ApprovalView } from "../../services/access/approvals.js";
import type { Services } from "../../services/index.js";
import { dataEnvelope, errorSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** The two-person rule: request, list, approve or deny a read. */

const approvalProperties = {
  id: { type: "string" },
  key: { type: "string" },
  requester: { type: "string" },
  reason: { type: "string" },
  status: { type: "string" },
  approvals_required: { type: "integer" },
  approvers: {
    type: "array",
    items: { type: "string" },
    description: "who may approve: user:NAME or group:NAME",
  },
  votes: {
    type: "array",
    items: {
      type: "object",
      properties: {
        approver: { type: "string" },
        decision: { type: "string" },
        comment: { type: ["string", "null"] },
        time: { type: "string" },
      },
    },
  },
  created_at: { type: "string" },
  expires_at: { type: ["string", "null"] },
};

const idParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", maxLength: 64, "x-text": "line" } },
} as const;

export function approvalRoutes(app: FastifyInstance, services: Services): void {
  const { approvals } = services;

  vaultWrite(
    app,
    "/v1/approvals",
    {
      config: { action: "approval.request", rateLimited: "approvals" },
      schema: {
        summary: "Ask to read a credential whose rule needs approval; its approvers are told",
        tags: ["approvals"],
        body: {
          type: "object",
          required: ["key", "reason"],
          properties: {
            key: { type: "string", maxLength: 128 },
            reason: { type: "string", minLength: 1, maxLength: 500, "x-text": "line" },
          },
        },
        response: { 200: dataEnvelope(approvalProperties), 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => {
      const { key, reason } = request.body as { key: string; reason: string };
      return { data: approvalBody(await approvals.request(key, reason, request.ctx)) };
    },
  );

  app.get(
    "/v1/approvals",
    {
      config: { action: "approval.list" },
      schema: {
        summary:
          "Requests the caller may decide (status=pending by default), or with mine=true the caller's own",
        tags: ["approvals"],
        querystring: {
          type: "object",
          properties: {
            status: {
              type: "string",
              enum: ["pending", "approved", "denied", "expired"],
              description: "expired: pending past approval_request_ttl_seconds, never decided",
            },
            mine: { type: "boolean" },
          },
        },
        response: {
          200: dataEnvelope({
            approvals: { type: "array", items: { type: "object", properties: approvalProperties } },
          }),
        },
      },
    },
    async (request) => {
      const query = request.query as { status?: ApprovalView["status"]; mine?: boolean };
      const list = await approvals.list(request.ctx, {
        status: query.status ?? (query.mine ? null : "pending"),
        mine: query.mine === true,
      });
      return { data: { approvals: list.map(approvalBody) } };
    },
  );

  app.get(
    "/v1/approvals/:id",
    {
      config: { action: "approval.read" },
      schema: {
        summary: "One request, to its requester, its approvers and admins",
        tags: ["approvals"],
        params: idParams,
        response: { 200: dataEnvelope(approvalProperties), 404: errorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return { data: approvalBody(await approvals.get(id, request.ctx)) };
    },
  );

  for (const decision of ["approve", "deny"] as const) {
    vaultWrite(
      app,
      `/v1/approvals/:id/${decision}`,
      {
        config: { action: `approval.${decision}`, rateLimited: "approvals" },
        schema: {
          summary:
            decision === "approve" ? "Approve a request (never one's own; one vote each)" : "Deny a request",
          tags: ["approvals"],
          params: idParams,
          body: {
            type: "object",
            properties: { comment: { type: "string", maxLength: 500, "x-text": "line" } },
          },
          response: {
            200: dataEnvelope(approvalProperties),
            400: errorSchema,
            403: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const comment = (request.body as { comment?: string } | undefined)?.comment ?? null;
        return {
          data: approvalBody(
            await approvals.decide(id, decision === "approve" ? "approved" : "denied", comment, request.ctx),
          ),
        };
      },
    );
  }
}

function approvalBody(approval: ApprovalView) {
  return {
    id: approval.id,
    key: approval.keyName,
    requester: approval.requester,
    reason: approval.reason,
    status: approval.status,
    approvals_required: approval.approvalsRequired,
    approvers: approval.approvers,
    votes: approval.votes,
    created_at: approval.createdAt,
    expires_at: approval.expiresAt,
  };
}
