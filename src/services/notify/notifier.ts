import { randomBytes } from "node:crypto";
import { type Clock, isoTime } from "../../core/clock.js";
import { badInput, notFound } from "../../core/errors.js";
import type { EventFilter, NotifySmtpRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { DeliveryWorker } from "../delivery/delivery-worker.js";
import type { DeliveryObserver, SinkLog } from "../delivery/transport.js";
import type { SecretBox } from "../seal/secret-box.js";
import { NotificationDestinations } from "./destinations.js";
import type { NotificationEvent } from "./events.js";
import {
  checkWebhookName,
  parseSmtpSpec,
  parseWebhookSpec,
  smtpPasswordAad,
  webhookSecretAad,
} from "./notify-config.js";

/** A webhook as the API shows it: never its secret. */
export interface WebhookView {
  name: string;
  url: string;
  events: EventFilter;
  hasSecret: boolean;
  updatedAt: string;
}

/** The mail server as the API shows it: never its password. */
export type SmtpView = Omit<NotifySmtpRecord, "passwordCiphertext" | "keyVersion"> & { hasPassword: boolean };

const webhookTarget = (name: string) => `notify/webhooks/${name}`;
const SMTP_TARGET = "notify/smtp";

/**
 * Notifications: the channels that deliver what services tell with their audit entries
 * (AuditRecord.notify, stored in the outbox), and the configuration of webhooks and the mail
 * server (admin only, `notify.configure`). Every change is recorded before it is stored, and
 * applies on this node before the answer leaves (on the other nodes within NOTIFY_REFRESH_MS).
 * Secrets are sealed with the row's identity as associated data.
 */
export class NotificationService {
  private readonly destinations: NotificationDestinations;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    observer: DeliveryObserver,
    log: SinkLog,
    /** Failed attempts before an event becomes a dead letter. */
    maxAttempts: number,
  ) {
    this.destinations = new NotificationDestinations(store, box, clock, observer, log, maxAttempts);
  }

  /** Events were committed on this node: the channels look now. */
  poke(): void {
    this.destinations.poke();
  }

  workers(): DeliveryWorker<NotificationEvent>[] {
    return this.destinations.workers();
  }

  start(): Promise<void> {
    return this.destinations.start();
  }

  /** Re-reads the destinations now rather than at the next NOTIFY_REFRESH_MS (as the audit sinks' refresh). */
  refresh(): Promise<void> {
    return this.destinations.refresh();
  }

  /** Stops delivering: what is in flight is aborted and sent again by the next holder of its lease. */
  close(): Promise<void> {
    return this.destinations.close();
  }

  async listWebhooks(ctx: RequestContext): Promise<string[]> {
    await this.audit.record(ctx, {
      action: "notify.webhook.read",
      target: "notify/webhooks",
      outcome: "allowed",
    });
    return (await this.store.notifications.listWebhooks()).map((webhook) => webhook.name);
  }

  async readWebhook(name: string, ctx: RequestContext): Promise<WebhookView> {
    checkWebhookName(name);
    await this.audit.record(ctx, {
      action: "notify.webhook.read",
      target: webhookTarget(name),
      outcome: "allowed",
    });
    const record = (await this.store.notifications.listWebhooks()).find((webhook) => webhook.name === name);
    if (!record) throw notFound(`no webhook named ${name}`);
    return { name, url: record.url, events: record.events, hasSecret: true, updatedAt: record.updatedAt };
  }

  /**
   * Creates or replaces a webhook (the whole of it). Without a `secret` one is generated and
   * returned, this once; with one, nothing is returned.
   */
  async writeWebhook(
    name: string,
    input: unknown,
    ctx: RequestContext,
  ): Promise<{ generatedSecret: string | null }> {
    checkWebhookName(name);
    const parsed = parseWebhookSpec(input);
    if (!parsed.spec) throw badInput(parsed.problems.join("; "));
    const { url, events } = parsed.spec;
    const generatedSecret = parsed.spec.secret === null ? randomBytes(32).toString("hex") : null;
    const secret = Buffer.from(parsed.spec.secret ?? (generatedSecret as string), "utf8");
    const sealed = this.box.sealSecret(secret, webhookSecretAad(name));
    secret.fill(0);
    await this.audit.record(ctx, {
      action: "notify.webhook.write",
      target: webhookTarget(name),
      outcome: "allowed",
      details: {
        url,
        events: JSON.stringify(events),
        secret: generatedSecret === null ? "given" : "generated",
      },
    });
    await this.store.notifications.putWebhook({
      name,
      url,
      events,
      secretCiphertext: sealed.ciphertext,
      keyVersion: sealed.keyVersion,
      updatedAt: isoTime(this.clock),
    });
    await this.destinations.refresh();
    return { generatedSecret };
  }

  /** Deleting a webhook that does not exist is not an error (as audit sinks and Vault's devices). */
  async deleteWebhook(name: string, ctx: RequestContext): Promise<void> {
    checkWebhookName(name);
    await this.audit.record(ctx, {
      action: "notify.webhook.delete",
      target: webhookTarget(name),
      outcome: "allowed",
    });
    await this.store.notifications.deleteWebhook(name);
    await this.destinations.removed(`webhook:${name}`);
  }

  async readSmtp(ctx: RequestContext): Promise<SmtpView> {
    await this.audit.record(ctx, { action: "notify.smtp.read", target: SMTP_TARGET, outcome: "allowed" });
    const record = await this.store.notifications.readSmtp();
    if (!record) throw notFound("no mail server is configured");
    const { passwordCiphertext, keyVersion: _keyVersion, ...shown } = record;
    return { ...shown, hasPassword: passwordCiphertext !== null };
  }

  /** Creates or replaces the mail server (the whole of it: an omitted password is no password). */
  async writeSmtp(input: unknown, ctx: RequestContext): Promise<void> {
    const parsed = parseSmtpSpec(input);
    if (!parsed.spec) throw badInput(parsed.problems.join("; "));
    const { password, ...settings } = parsed.spec;
    let sealed: { ciphertext: Buffer; keyVersion: number } | null = null;
    if (password !== null) {
      const plain = Buffer.from(password, "utf8");
      sealed = this.box.sealSecret(plain, smtpPasswordAad);
      plain.fill(0);
    }
    await this.audit.record(ctx, {
      action: "notify.smtp.write",
      target: SMTP_TARGET,
      outcome: "allowed",
      details: {
        host: settings.host,
        port: settings.port,
        secure: settings.secure,
        from: settings.from,
        to: settings.to.join(","),
        username: settings.username,
        events: JSON.stringify(settings.events),
        password: password !== null,
      },
    });
    await this.store.notifications.putSmtp({
      ...settings,
      passwordCiphertext: sealed?.ciphertext ?? null,
      keyVersion: sealed?.keyVersion ?? null,
      updatedAt: isoTime(this.clock),
    });
    await this.destinations.refresh();
  }

  async deleteSmtp(ctx: RequestContext): Promise<void> {
    await this.audit.record(ctx, { action: "notify.smtp.delete", target: SMTP_TARGET, outcome: "allowed" });
    await this.store.notifications.deleteSmtp();
    await this.destinations.removed("smtp");
  }
}
