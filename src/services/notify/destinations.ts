import type { Clock } from "../../core/clock.js";
import type { NotifySmtpRecord, NotifyWebhookRecord, Store } from "../../store/store.js";
import {
  type AuditSinkObserver,
  describeError,
  type QueueSettings,
  type SinkLog,
  SinkQueue,
  type SinkTransport,
} from "../audit/sinks/sink-queue.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { SecretBox } from "../seal/secret-box.js";
import type { NotificationEvent } from "./events.js";
import { smtpPasswordAad, wantsEvent, webhookSecretAad } from "./notify-config.js";
import { mailRecipients, SmtpChannel } from "./smtp-channel.js";
import { WebhookChannel } from "./webhook-channel.js";

/** What the channels report; the Prometheus metrics implement it. `channel` is `webhook:NAME` or `smtp`. */
export interface NotificationObserver {
  notificationSent(channel: string, events: number): void;
  notificationFailed(channel: string): void;
  notificationDeadLettered(channel: string, events: number): void;
}

/** How often each node re-reads the destinations (a change made on this node applies at once). */
export const NOTIFY_REFRESH_MS = 2_000;
const CLOSE_GRACE_MS = 2_000;
const QUEUE: QueueSettings = {
  maxQueue: 1_000,
  maxBatch: 1,
  lingerMs: 0,
  // 0.5 s doubling to 30 s: about four minutes of trying before an event is given up on.
  maxAttempts: 12,
  what: "notification channel",
};

interface Destination {
  channel: string;
  /** What, when it changes, means the channel must be opened again. */
  fingerprint: string;
  wants(event: NotificationEvent): boolean;
  queue: SinkQueue<NotificationEvent>;
}

interface Wanted {
  channel: string;
  fingerprint: string;
  wants(event: NotificationEvent): boolean;
  open(): SinkTransport<NotificationEvent>;
}

/**
 * This node's notification channels, one queue each (the audit sinks' queue: in order, retried
 * with backoff, given up after QUEUE.maxAttempts as dead letters), re-read from the store every
 * NOTIFY_REFRESH_MS. `notify` only queues: it never waits and never throws.
 */
export class NotificationDestinations {
  private readonly open = new Map<string, Destination>();
  private readonly closing = new Set<Promise<void>>();
  private readonly refresher: PeriodicRefresh;
  private wasSealed = true;
  private readonly observer: AuditSinkObserver;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    observer: NotificationObserver,
    private readonly log: SinkLog,
  ) {
    this.observer = {
      sinkDelivered: (channel, events) => observer.notificationSent(channel, events),
      sinkFailed: (channel) => observer.notificationFailed(channel),
      sinkDeadLettered: (channel, events) => observer.notificationDeadLettered(channel, events),
      sinkQueueLength: () => undefined,
    };
    this.refresher = new PeriodicRefresh(
      "notification channels",
      NOTIFY_REFRESH_MS,
      () => this.reconcile(),
      log,
    );
  }

  async start(): Promise<void> {
    await this.refresher.start();
  }

  notify(event: NotificationEvent): void {
    for (const destination of this.open.values()) {
      try {
        if (destination.wants(event) || namedBy(event, destination.channel))
          void destination.queue.enqueue([event], false);
      } catch (error) {
        this.log.warn(
          { sink: destination.channel, problem: describeError(error) },
          "notification not queued",
        );
      }
    }
  }

  /** Re-reads the destinations and opens, replaces or closes channels to match; never rejects. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  async close(): Promise<void> {
    await this.refresher.stop();
    for (const destination of this.open.values()) this.closeInBackground(destination);
    this.open.clear();
    await Promise.all(this.closing);
  }

  private async reconcile(): Promise<void> {
    const [webhooks, smtp] = await Promise.all([
      this.store.notifications.listWebhooks(),
      this.store.notifications.readSmtp(),
    ]);
    const wanted = new Map<string, Wanted>();
    for (const record of webhooks) wanted.set(`webhook:${record.name}`, this.webhook(record));
    if (smtp) wanted.set("smtp", this.smtp(smtp));
    for (const [channel, destination] of this.open) {
      if (wanted.get(channel)?.fingerprint === destination.fingerprint) continue;
      this.open.delete(channel);
      this.closeInBackground(destination);
    }
    for (const [channel, want] of wanted) {
      if (this.open.has(channel)) continue;
      this.open.set(channel, {
        channel,
        fingerprint: want.fingerprint,
        wants: want.wants,
        queue: new SinkQueue(channel, want.open(), QUEUE, this.observer, this.log),
      });
      this.log.info({ sink: channel }, "notification channel open");
    }
    const sealed = this.box.isSealed;
    if (this.wasSealed && !sealed) for (const { queue } of this.open.values()) queue.retryNow();
    this.wasSealed = sealed;
  }

  private webhook(record: NotifyWebhookRecord): Wanted {
    const { name, url, events, secretCiphertext, keyVersion } = record;
    const secret = () => this.openText(secretCiphertext, keyVersion, webhookSecretAad(name)(keyVersion));
    return {
      channel: `webhook:${name}`,
      fingerprint: JSON.stringify([url, events, secretCiphertext.toString("base64"), keyVersion]),
      wants: (event) => wantsEvent(events, event.type),
      open: () => new WebhookChannel(url, secret, () => !this.box.isSealed, this.clock),
    };
  }

  private smtp(record: NotifySmtpRecord): Wanted {
    const { passwordCiphertext, keyVersion, ...settings } = record;
    const password =
      passwordCiphertext === null || keyVersion === null
        ? null
        : () => this.openText(passwordCiphertext, keyVersion, smtpPasswordAad(keyVersion));
    return {
      channel: "smtp",
      fingerprint: JSON.stringify([settings, passwordCiphertext?.toString("base64") ?? null, keyVersion]),
      wants: (event) => mailRecipients(settings, event).length > 0,
      open: () => new SmtpChannel(settings, password, () => password === null || !this.box.isSealed),
    };
  }

  private openText(ciphertext: Buffer, keyVersion: number, aad: string): string {
    const plain = this.box.openSecret(ciphertext, keyVersion, aad);
    try {
      return plain.toString("utf8");
    } finally {
      plain.fill(0);
    }
  }

  private closeInBackground(destination: Destination): void {
    const done: Promise<void> = destination.queue
      .close(CLOSE_GRACE_MS)
      .catch(() => undefined)
      .finally(() => this.closing.delete(done));
    this.closing.add(done);
  }
}

/** Whether the event's access rule names this channel (`email` is the mail server, `smtp`). */
function namedBy(event: NotificationEvent, channel: string): boolean {
  return event.channels?.includes(channel === "smtp" ? "email" : channel) ?? false;
}
