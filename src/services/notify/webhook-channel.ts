import { createHmac } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import type { SinkTransport } from "../delivery/transport.js";
import { OutboundPost } from "../node/outbound-post.js";
import type { NotificationEvent } from "./events.js";

const TIMEOUT_MS = 10_000;

/** The event as webhooks see it: snake_case, only the fields that are set, without `text` or `emailTo`. */
export function eventFields(event: NotificationEvent): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: event.type,
    time: event.time,
    actor: event.actor,
    key: event.key,
    reason: event.reason,
    approval_id: event.approvalId,
    decision: event.decision,
    approvers: event.approvers,
    request_id: event.requestId,
    seq: event.seq,
  };
  for (const [name, value] of Object.entries(fields)) if (value === undefined) delete fields[name];
  return fields;
}

/** `sha256=HEX`, HEX = HMAC-SHA256(secret as UTF-8, `${timestamp}.${body}`): docs/notifications.md. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * POSTs one event as `{"text": …, "event": {…}}` (Slack's incoming webhooks read `text`), signed
 * with the webhook's secret. Delivered means a 2xx answer; anything else, a redirect too, is a
 * failure, retried by the queue. The secret is opened at each send and never kept in the clear,
 * so while the vault is sealed the channel cannot send and its events wait.
 */
export class WebhookChannel implements SinkTransport<NotificationEvent> {
  private readonly post = new OutboundPost("notification webhook", TIMEOUT_MS);

  constructor(
    private readonly url: string,
    private readonly secret: () => string,
    readonly canSend: () => boolean,
    /** Stamps each delivery (the signed timestamp). */
    private readonly clock: Clock,
  ) {}

  async send(events: NotificationEvent[]): Promise<void> {
    for (const event of events) {
      const body = JSON.stringify({ text: event.text, event: eventFields(event) });
      // Signed at each attempt: a receiver may refuse old timestamps, and a retry is sent now.
      const timestamp = Math.floor(this.clock.now() / 1000);
      await this.post.send(this.url, body, {
        "x-breakglass-event": event.type,
        // The same on every attempt and after a crash: receivers deduplicate by it.
        "x-breakglass-event-id": String(event.seq),
        "x-breakglass-timestamp": String(timestamp),
        "x-breakglass-signature": webhookSignature(this.secret(), timestamp, body),
      });
    }
  }

  async close(): Promise<void> {
    this.post.close();
  }
}
