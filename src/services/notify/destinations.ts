import type { Clock } from "../../core/clock.js";
import type { NotifySmtpRecord, NotifyWebhookRecord, Store } from "../../store/store.js";
import { DEFAULT_LINGER_MS, type DeliverySource, DeliveryWorker } from "../delivery/delivery-worker.js";
import type { DeliveryObserver, SinkLog, SinkTransport } from "../delivery/transport.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { SecretBox } from "../seal/secret-box.js";
import type { NotificationEvent } from "./events.js";
import { smtpPasswordAad, wantsEvent, webhookSecretAad } from "./notify-config.js";
import { mailRecipients, SmtpChannel } from "./smtp-channel.js";
import { WebhookChannel } from "./webhook-channel.js";

/** How often each node re-reads the destinations (a change made on this node applies at once). */
export const NOTIFY_REFRESH_MS = 2_000;
/** 0.5 s doubling to 30 s: three minutes of waits (more with slow failures) before an event becomes a dead letter. */
export const DEFAULT_MAX_ATTEMPTS = 12;
/** Events leave one at a time: a channel sends one request or mail per event. */
const ONE_EVENT = 1;
/** How often (in re-reads) the outbox is pruned of what every channel has been given. */
const PRUNE_EVERY_REFRESHES = 30;

interface Destination {
  /** What, when it changes, means the channel must be opened again. */
  fingerprint: string;
  worker: DeliveryWorker<NotificationEvent>;
}

interface Wanted {
  channel: string;
  fingerprint: string;
  wants(event: NotificationEvent): boolean;
  open(): SinkTransport<NotificationEvent>;
}

/**
 * The notification channels (`webhook:NAME`, `smtp`), each delivered from the outbox by a worker
 * (services/delivery), re-read from the store every NOTIFY_REFRESH_MS.
 */
export class NotificationDestinations {
  private readonly open = new Map<string, Destination>();
  private readonly closing = new Map<string, Promise<void>>();
  private readonly refresher: PeriodicRefresh;
  private readonly source: DeliverySource<NotificationEvent>;
  private refreshes = 0;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly observer: DeliveryObserver,
    private readonly log: SinkLog,
    private readonly maxAttempts: number,
  ) {
    this.refresher = new PeriodicRefresh(
      "notification channels",
      NOTIFY_REFRESH_MS,
      () => this.reconcile(),
      log,
    );
    this.source = {
      kind: "outbox",
      after: async (position, limit) =>
        (await store.delivery.outboxAfter(position, limit)).map(({ seq, event }) => ({
          seq,
          item: { ...(JSON.parse(event) as NotificationEvent), seq },
        })),
      head: () => store.delivery.outboxHead(),
      toPayload: (event) => JSON.stringify(event),
      fromPayload: (payload) => JSON.parse(payload) as NotificationEvent,
      summary: (event) => event.text,
    };
  }

  async start(): Promise<void> {
    await this.refresher.start();
  }

  /** Events were committed on this node: the channels look now. */
  poke(): void {
    for (const { worker } of this.open.values()) worker.poke();
  }

  workers(): DeliveryWorker<NotificationEvent>[] {
    return [...this.open.values()].map((destination) => destination.worker);
  }

  /** Re-reads the destinations and opens, replaces or closes channels to match; never rejects. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  /** Closes a removed channel and forgets its position and dead letters. */
  async removed(channel: string): Promise<void> {
    await this.refresh();
    await this.closing.get(channel);
    await this.store.delivery.forget(channel);
  }

  async close(): Promise<void> {
    await this.refresher.stop();
    for (const [channel, destination] of this.open) this.closeInBackground(channel, destination);
    this.open.clear();
    await Promise.all(this.closing.values());
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
      this.closeInBackground(channel, destination);
    }
    for (const [channel, want] of wanted) {
      if (this.open.has(channel)) continue;
      const worker = new DeliveryWorker(
        {
          destination: channel,
          transport: want.open(),
          source: this.source,
          maxBatch: ONE_EVENT,
          lingerMs: DEFAULT_LINGER_MS,
          maxAttempts: this.maxAttempts,
          wants: (event) => want.wants(event) || namedBy(event, channel),
          what: "notification channel",
        },
        this.store.delivery,
        this.observer,
        this.log,
        this.closing.get(channel) ?? Promise.resolve(),
      );
      this.open.set(channel, { fingerprint: want.fingerprint, worker });
      await worker.start();
      this.log.info({ sink: channel }, "notification channel open");
    }
    // Unsealed: a channel whose secret was sealed can send now.
    if (!this.box.isSealed) this.poke();
    if (this.refreshes++ % PRUNE_EVERY_REFRESHES === 0) await this.prune(new Set(wanted.keys()));
  }

  /**
   * Deletes the outbox events every configured channel is past (a dead letter keeps its own copy).
   * A channel without a position yet starts at the newest event, so it holds nothing back.
   */
  private async prune(channels: Set<string>): Promise<void> {
    const positions = (await this.store.delivery.positions())
      .filter(({ destination }) => channels.has(destination))
      .map(({ position }) => position);
    const upTo = positions.length > 0 ? Math.min(...positions) : await this.store.delivery.outboxHead();
    await this.store.delivery.pruneOutbox(upTo);
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

  private closeInBackground(channel: string, destination: Destination): void {
    const before = this.closing.get(channel) ?? Promise.resolve();
    const done = before
      .then(() => destination.worker.close())
      .catch(() => undefined)
      .finally(() => {
        if (this.closing.get(channel) === done) this.closing.delete(channel);
      });
    this.closing.set(channel, done);
  }
}

/** Whether the event's access rule names this channel (`email` is the mail server, `smtp`). */
function namedBy(event: NotificationEvent, channel: string): boolean {
  return event.channels?.includes(channel === "smtp" ? "email" : channel) ?? false;
}
