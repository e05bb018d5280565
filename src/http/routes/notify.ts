import { listQuery } from "../../api/fields.js";
import { SmtpBody, WebhookBody, WebhookNameParams } from "../../api/notify.js";
import { BreakglassError } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import type { SmtpView, WebhookView } from "../../services/notify/notifier.js";
import { errorSchema } from "../error-schema.js";
import { presentedCredential } from "../request-context.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, listReply, listResponses } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/**
 * Notifications: webhooks (notify/webhooks/:name) and the team's mail server (notify/smtp). Admin
 * only. Secrets go in and never come back out, except a generated webhook secret, once, in the
 * answer to the write that made it. docs/notifications.md.
 */

const webhookProperties = {
  name: { type: "string" },
  url: { type: "string" },
  events: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
  has_secret: { type: "boolean", description: "always true: every webhook signs what it sends" },
  updated_at: { type: "string" },
};

const smtpProperties = {
  host: { type: "string" },
  port: { type: "integer" },
  secure: { type: "boolean" },
  from: { type: "string" },
  to: { type: "array", items: { type: "string" } },
  username: { type: ["string", "null"] },
  events: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
  has_password: { type: "boolean" },
  updated_at: { type: "string" },
};

export function notifyRoutes(app: RouteApp, services: Services): void {
  const { notifier } = services;

  app.get(
    "/v1/notify/webhooks",
    {
      config: { action: "notify.webhook.read" },
      schema: {
        summary: "List webhook names (Vault's LIST, as GET ?list=true); 404 when there are none",
        tags: ["notify"],
        querystring: listQuery,
        response: listResponses,
      },
    },
    async (request, reply) => {
      return listReply(reply, await notifier.listWebhooks(request.ctx));
    },
  );

  app.get(
    "/v1/notify/webhooks/:name",
    {
      config: { action: "notify.webhook.read" },
      schema: {
        summary: "One webhook, without its secret",
        tags: ["notify"],
        params: WebhookNameParams,
        response: { 200: dataEnvelope(webhookProperties), 400: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      return { data: webhookBody(await notifier.readWebhook(name, request.ctx)) };
    },
  );

  vaultWrite(
    app,
    "/v1/notify/webhooks/:name",
    {
      config: { action: "notify.webhook.write" },
      schema: {
        summary:
          "Create or replace a webhook; without a secret one is generated and returned this once (200), else 204",
        tags: ["notify"],
        params: WebhookNameParams,
        body: WebhookBody,
        response: {
          200: dataEnvelope({ secret: { type: "string", description: "shown once, never again" } }),
          204: { type: "null" },
          400: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { generatedSecret } = await notifier.writeWebhook(name, request.body ?? {}, request.ctx);
      if (generatedSecret === null) return reply.code(204).send();
      return { data: { secret: generatedSecret } };
    },
  );

  app.delete(
    "/v1/notify/webhooks/:name",
    {
      config: { action: "notify.webhook.delete" },
      schema: {
        summary: "Remove a webhook (what it still holds gets 2 seconds to leave)",
        tags: ["notify"],
        params: WebhookNameParams,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await notifier.deleteWebhook(name, request.ctx);
      return reply.code(204).send();
    },
  );

  app.get(
    "/v1/notify/smtp",
    {
      config: { action: "notify.smtp.read" },
      schema: {
        summary: "The mail server, without its password",
        tags: ["notify"],
        response: {
          200: {
            type: "object",
            properties: {
              data: { ...dataEnvelope(smtpProperties).properties.data, type: ["object", "null"] },
            },
          },
          404: errorSchema,
        },
      },
    },
    async (request) => {
      try {
        return { data: smtpBody(await notifier.readSmtp(request.ctx)) };
      } catch (error) {
        // None set: 404 as for any missing path, but `data: null` for the web UI (no console error).
        const none = error instanceof BreakglassError && error.code === "NOT_FOUND";
        if (none && presentedCredential(request).fromCookie) return { data: null };
        throw error;
      }
    },
  );

  vaultWrite(
    app,
    "/v1/notify/smtp",
    {
      config: { action: "notify.smtp.write" },
      schema: {
        summary:
          "Set the mail server that tells the team (the whole of it: an omitted password is no password)",
        tags: ["notify"],
        body: SmtpBody,
        response: { 204: { type: "null" }, 400: errorSchema },
      },
    },
    async (request, reply) => {
      await notifier.writeSmtp(request.body ?? {}, request.ctx);
      return reply.code(204).send();
    },
  );

  app.delete(
    "/v1/notify/smtp",
    {
      config: { action: "notify.smtp.delete" },
      schema: {
        summary: "Remove the mail server",
        tags: ["notify"],
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await notifier.deleteSmtp(request.ctx);
      return reply.code(204).send();
    },
  );
}

function webhookBody(webhook: WebhookView) {
  return {
    name: webhook.name,
    url: webhook.url,
    events: webhook.events,
    has_secret: webhook.hasSecret,
    updated_at: webhook.updatedAt,
  };
}

function smtpBody(smtp: SmtpView) {
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    from: smtp.from,
    to: smtp.to,
    username: smtp.username,
    events: smtp.events,
    has_password: smtp.hasPassword,
    updated_at: smtp.updatedAt,
  };
}
