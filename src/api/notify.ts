import { type Static, Type } from "typebox";

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
