import { DeadLettersAnswer, DeliveriesAnswer, RedriveAnswer, RedriveBody } from "../../api/deliveries.js";
import type { AuditAction } from "../../core/audit-actions.js";
import { badInput } from "../../core/errors.js";
import type { DeliveryKind } from "../../services/delivery/deliveries.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";

const KINDS: { kind: DeliveryKind; prefix: string; tag: string; read: AuditAction; redrive: AuditAction }[] =
  [
    {
      kind: "notifications",
      prefix: "/v1/notify",
      tag: "notify",
      read: "notify.delivery.read",
      redrive: "notify.delivery.redrive",
    },
    {
      kind: "sinks",
      prefix: "/v1/audit/sinks",
      tag: "audit",
      read: "audit.sink.read",
      redrive: "audit.sink.redrive",
    },
  ];

/**
 * What waits for each destination and what was given up on, for notifications (admin) and audit
 * sinks (root), and redriving dead letters: the same three routes for each.
 */
export function deliveryRoutes(app: RouteApp, services: Services): void {
  const { deliveries } = services;
  for (const { kind, prefix, tag, read, redrive } of KINDS) {
    app.get(
      `${prefix}/deliveries`,
      {
        config: { action: read },
        schema: {
          summary: `Each ${kind === "sinks" ? "audit sink" : "notification channel"}: position, backlog, oldest waiting, failing, dead letters`,
          tags: [tag],
          response: { 200: DeliveriesAnswer },
        },
      },
      async (request) => {
        const destinations = await deliveries.destinations(kind, request.ctx);
        return {
          data: {
            destinations: destinations.map((d) => ({
              destination: d.destination,
              position: d.position,
              backlog: d.backlog,
              oldest_seconds: d.oldestSeconds,
              failing: d.failing,
              last_error: d.lastError,
              dead_letters: d.deadLetters,
            })),
          },
        };
      },
    );

    app.get(
      `${prefix}/dead-letters`,
      {
        config: { action: read },
        schema: {
          summary:
            "What was given up on after too many attempts, with the last error (an empty list when none)",
          tags: [tag],
          response: { 200: DeadLettersAnswer },
        },
      },
      async (request) => {
        const letters = await deliveries.deadLetters(kind, request.ctx);
        return {
          data: {
            dead_letters: letters.map(({ deadAt, ...letter }) => ({ ...letter, dead_at: deadAt })),
          },
        };
      },
    );

    app.post(
      `${prefix}/dead-letters/redrive`,
      {
        config: { action: redrive },
        schema: {
          summary:
            "Send dead letters again (all, one destination's, or one seq); they leave the list once delivered",
          tags: [tag],
          body: RedriveBody,
          response: { 200: RedriveAnswer, 400: errorSchema },
        },
      },
      async (request) => {
        // A filter misspelt, or put in the query, must not widen a redrive to every letter.
        const unknown = [
          ...Object.keys(request.body ?? {}).filter((field) => field !== "destination" && field !== "seq"),
          ...Object.keys(Object(request.query)).map((field) => `?${field}`),
        ];
        if (unknown.length > 0)
          throw badInput(
            `unknown fields: ${unknown.join(", ")} (the filters are destination and seq, in the body)`,
          );
        const { destination, seq } = request.body ?? {};
        return { data: { redriven: await deliveries.redrive(kind, { destination, seq }, request.ctx) } };
      },
    );
  }
}
