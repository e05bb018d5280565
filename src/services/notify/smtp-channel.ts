import { createTransport, type Transporter } from "nodemailer";
import type { SinkTransport } from "../delivery/transport.js";
import type { NotificationEvent } from "./events.js";
import { isEmailAddress, type SmtpSpec, wantsEvent } from "./notify-config.js";
import { eventFields } from "./webhook-channel.js";

export type SmtpSettings = Omit<SmtpSpec, "password">;

const MAX_SUBJECT = 150;
const CONNECT_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 30_000;

/**
 * Who gets an event by mail: the team (`to`) when the mail server is subscribed to its type, and
 * always the addresses the event names itself (the approvers of a request must hear of it).
 */
export function mailRecipients(settings: SmtpSettings, event: NotificationEvent): string[] {
  const team =
    wantsEvent(settings.events, event.type) || event.channels?.includes("email") ? settings.to : [];
  const named = (event.emailTo ?? []).filter(isEmailAddress);
  return [...new Set([...team, ...named])];
}

/** Subject: the event's sentence on one line, cut short. Body: the sentence, then every field. */
export function mailContent(event: NotificationEvent): { subject: string; text: string } {
  const line = event.text.replace(/[\r\n\t]+/g, " ").trim();
  const subject = line.length > MAX_SUBJECT ? `${line.slice(0, MAX_SUBJECT - 1)}…` : line;
  const fields = Object.entries(eventFields(event)).map(
    ([name, value]) => `${name}: ${Array.isArray(value) ? value.join(", ") : String(value)}`,
  );
  return { subject, text: `${event.text}\n\n${fields.join("\n")}\n` };
}

/**
 * One mail per event through the team's SMTP server (nodemailer, a connection per mail). The
 * password is opened at each send and never kept in the clear, so while the vault is sealed a
 * server with a password cannot send and its events wait.
 */
export class SmtpChannel implements SinkTransport<NotificationEvent> {
  private readonly inFlight = new Set<Transporter>();
  private closed = false;

  constructor(
    private readonly settings: SmtpSettings,
    private readonly password: (() => string) | null,
    readonly canSend: () => boolean,
  ) {}

  async send(events: NotificationEvent[]): Promise<void> {
    for (const event of events) await this.mail(event);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const transporter of this.inFlight) transporter.close();
  }

  private async mail(event: NotificationEvent): Promise<void> {
    if (this.closed) throw new Error("the mail channel is closed");
    const to = mailRecipients(this.settings, event);
    if (to.length === 0) return;
    const { host, port, secure, from, username } = this.settings;
    const transporter = createTransport({
      host,
      port,
      secure,
      auth: username !== null && this.password ? { user: username, pass: this.password() } : undefined,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      greetingTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
    });
    this.inFlight.add(transporter);
    try {
      await transporter.sendMail({
        from,
        to,
        ...mailContent(event),
        // One Message-ID per event, however often it is sent: mail clients show a repeat once.
        messageId: `<breakglass-event-${event.seq}-${Date.parse(event.time)}@breakglass>`,
        headers: { "X-Breakglass-Event-Id": String(event.seq) },
      });
    } finally {
      this.inFlight.delete(transporter);
      transporter.close();
    }
  }
}
