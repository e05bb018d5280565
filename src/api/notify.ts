import { type Static, Type } from "typebox";
import { nullableNumber, nullableText } from "./fields.js";

/**
 * Notifications: webhooks (notify/webhooks/:name) and the team's mail server (notify/smtp). Fields
 * are checked by the service (one answer names every problem), so the bodies only describe them.
 */

export const WebhookNameParams = Type.Object({
  name: Type.String({ maxLength: 64, description: "the webhook's name" }),
});
export type WebhookNameParams = Static<typeof WebhookNameParams>;

const EVENTS = '"*" or a list of event types (code.read, approval.requested, …)';

/** A field of any type, described: the service checks it. */
const described = (description: string) => Type.Optional(Type.Unknown({ description }));

export const WebhookBody = Type.Object({
  url: described("http:// or https:// URL that gets each event as a signed JSON POST"),
  events: described(EVENTS),
  secret: described("the HMAC-SHA256 signing secret, 16-256 characters; generated when left out"),
});
export type WebhookBody = Static<typeof WebhookBody>;

export const SmtpBody = Type.Object({
  host: described("host name or IP address"),
  port: described("integer, 1-65535"),
  secure: described("true: TLS from the start (465); false: STARTTLS when offered (587, 25)"),
  from: described("sender address"),
  to: described("list of team addresses that get every event subscribed to"),
  username: described("SMTP login, optional"),
  password: described("SMTP password, optional; stored encrypted, never shown"),
  events: described(`${EVENTS}; default "*"`),
});
export type SmtpBody = Static<typeof SmtpBody>;

/**
 * Delivery state and dead letters (notify/deliveries, notify/dead-letters; the audit sinks answer the
 * same shapes under sys/audit). The routes, the CLI and the UI read these.
 */

/** One destination: `webhook:NAME`, `smtp`, `sink:NAME` or `sink:NAME@HOST:PATH`. */
export const DeliveryState = Type.Object({
  destination: Type.String(),
  position: Type.Integer({ description: "the last audit seq delivered" }),
  backlog: Type.Integer({ description: "events not yet delivered" }),
  oldest_seconds: nullableNumber({ description: "age of the oldest undelivered event; null when none" }),
  failing: Type.Boolean({ description: "the last attempt failed" }),
  last_error: nullableText(),
  dead_letters: Type.Integer(),
});
export type DeliveryState = Static<typeof DeliveryState>;

export const DeliveriesAnswer = Type.Object({ destinations: Type.Array(DeliveryState) });
export type DeliveriesAnswer = Static<typeof DeliveriesAnswer>;

/** An event given up on after its attempts; kept until redriven and delivered, or its destination deleted. */
export const DeadLetter = Type.Object({
  destination: Type.String(),
  seq: Type.Integer({ description: "the audit entry's seq" }),
  summary: Type.String(),
  error: Type.String({ description: "the last attempt's error" }),
  attempts: Type.Integer(),
  dead_at: Type.String({ description: "ISO 8601" }),
});
export type DeadLetter = Static<typeof DeadLetter>;

export const DeadLettersAnswer = Type.Object({ dead_letters: Type.Array(DeadLetter) });
export type DeadLettersAnswer = Static<typeof DeadLettersAnswer>;

/** Both filters optional: `{}` redrives every dead letter. */
export const RedriveBody = Type.Object({
  destination: Type.Optional(Type.String({ maxLength: 512, description: "only this destination's" })),
  seq: Type.Optional(Type.Integer({ minimum: 0, description: "only this event" })),
});
export type RedriveBody = Static<typeof RedriveBody>;

export const RedriveAnswer = Type.Object({
  redriven: Type.Integer({ description: "letters queued for delivery again" }),
});
export type RedriveAnswer = Static<typeof RedriveAnswer>;
