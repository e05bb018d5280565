import {
  type ApprovalAnswer,
  ApprovalDecisionBody,
  ApprovalIdParams,
  ApprovalListQuery,
  ApprovalRequestBody,
} from "../../api/approvals.js";
import type { ApprovalView } from "../../services/access/approvals.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";
import { relyingPartyOf } from "./auth-passkey.js";

/** The two-person rule: request, list, approve or deny a read. */

const approvalProperties = {
  id: { type: "string" },
  key: { type: "string" },
  requester: { type: "string" },
  reason: { type: "string" },
  status: {
    type: "string",
    description: "expired: pending past approval_request_ttl_seconds, or approved and past its use window",
  },
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
        approver: { type: "string", description: "who decided: user:NAME" },
        decision: { type: "string" },
        comment: { type: ["string", "null"] },
        time: { type: "string" },
      },
    },
  },
  created_at: { type: "string" },
  approver_step_up: {
    type: "boolean",
    description: "an approver's yes needs a passkey step-up bound to this request (step_up in the body)",
  },
  expires_at: {
    type: ["string", "null"],
    description: "when approved: the end of its use window under the credential's rule as it is now",
  },
};

export function approvalRoutes(app: RouteApp, services: Services): void {
  const { approvals } = services;

  vaultWrite(
    app,
    "/v1/approvals",
    {
      config: { action: "approval.request", rateLimited: "approvals" },
      schema: {
        summary: "Ask to read a credential whose rule needs approval; its approvers are told",
        tags: ["approvals"],
        body: ApprovalRequestBody,
        response: { 200: dataEnvelope(approvalProperties), 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => {
      const { key, reason } = request.body;
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
        querystring: ApprovalListQuery,
        response: {
          200: dataEnvelope({
            approvals: { type: "array", items: { type: "object", properties: approvalProperties } },
          }),
        },
      },
    },
    async (request) => {
      const query = request.query;
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
        params: ApprovalIdParams,
        response: { 200: dataEnvelope(approvalProperties), 404: errorSchema },
      },
    },
    async (request) => {
      const { id } = request.params;
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
          params: ApprovalIdParams,
          body: ApprovalDecisionBody,
          response: {
            200: dataEnvelope(approvalProperties),
            400: errorSchema,
            403: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const comment = request.body?.comment ?? null;
        const stepUp = request.body?.step_up;
        return {
          data: approvalBody(
            await approvals.decide(
              id,
              decision === "approve" ? "approved" : "denied",
              comment,
              request.ctx,
              stepUp ? { assertion: stepUp, rp: relyingPartyOf(request, services) } : null,
            ),
          ),
        };
      },
    );
  }
}

function approvalBody(approval: ApprovalView): ApprovalAnswer {
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
    approver_step_up: approval.approverStepUp,
  };
}
