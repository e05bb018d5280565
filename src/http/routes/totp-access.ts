import { AccessRuleAnswer, AccessRuleBody, KeyNameParams } from "../../api/totp.js";
import { durationSeconds } from "../../core/durations.js";
import type { Services } from "../../services/index.js";
import type { AccessRuleRecord } from "../../store/store.js";
import { errorSchema } from "../error-schema.js";
import { presentedCredential } from "../request-context.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Access rules per credential, at totp/access/:name (admins). */

const ruleProperties = AccessRuleAnswer.properties;

export function totpAccessRoutes(app: RouteApp, services: Services): void {
  const { accessRules } = services;

  vaultWrite(
    app,
    "/v1/totp/access/:name",
    {
      config: { action: "access.rule.write" },
      schema: {
        summary:
          "Set who reads a credential (readers), who approves, how many approvals, whether a reason is required",
        tags: ["access"],
        params: KeyNameParams,
        body: AccessRuleBody,
        response: { 200: dataEnvelope(ruleProperties), 400: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { body } = request;
      const rule = await accessRules.put(
        name,
        {
          readers: body.readers,
          approvers: body.approvers,
          approvalsRequired: body.approvals_required,
          requireReason: body.require_reason,
          approvalTtlSeconds: durationSeconds(body.approval_ttl),
          notify: body.notify,
          stepUp: body.step_up,
          approverStepUp: body.approver_step_up,
        },
        request.ctx,
      );
      return { data: ruleBody(rule) };
    },
  );

  app.get(
    "/v1/totp/access/:name",
    {
      config: { action: "access.configure" },
      schema: {
        summary: "A credential's access rule",
        tags: ["access"],
        params: KeyNameParams,
        response: {
          200: {
            type: "object",
            properties: {
              data: { ...dataEnvelope(ruleProperties).properties.data, type: ["object", "null"] },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      // No rule: 404 for API clients, `data: null` for the web UI (a 404 is a console error there).
      if (presentedCredential(request).fromCookie) {
        const rule = await accessRules.find(name);
        return { data: rule ? ruleBody(rule) : null };
      }
      return { data: ruleBody(await accessRules.get(name)) };
    },
  );

  app.delete(
    "/v1/totp/access/:name",
    {
      config: { action: "access.rule.delete" },
      schema: {
        summary: "Remove a credential's access rule: only admins read it afterwards",
        tags: ["access"],
        params: KeyNameParams,
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await accessRules.delete(name, request.ctx);
      return reply.code(204).send();
    },
  );
}

function ruleBody(rule: AccessRuleRecord) {
  return {
    key: rule.keyName,
    readers: rule.readers,
    approvers: rule.approvers,
    approvals_required: rule.approvalsRequired,
    require_reason: rule.requireReason,
    approval_ttl: rule.approvalTtlSeconds,
    notify: rule.notify,
    step_up: rule.stepUp,
    approver_step_up: rule.approverStepUp,
    updated_at: rule.updatedAt,
  };
}
