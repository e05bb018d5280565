import type { AuditEntry } from "../../../core/audit-chain.js";
import type { AuditSinkRecord, Store } from "../../../store/store.js";
import { PeriodicRefresh } from "../../node/periodic-refresh.js";
import type { SecretBox } from "../../seal/secret-box.js";
import type { AuditDelivery } from "../audit-log.js";
import { FileSink } from "./file-sink.js";
import {
  type FileOptions,
  parseSinkSpec,
  type SinkSpec,
  type SyslogOptions,
  type WebhookOptions,
} from "./sink-config.js";
import {
  type AuditSinkObserver,
  type QueueSettings,
  type SinkLog,
  SinkQueue,
  type SinkTransport,
} from "./sink-queue.js";
import { TcpSyslogSink, UdpSyslogSink } from "./syslog-sink.js";
import { WebhookSink } from "./webhook-sink.js";

/** How often each node re-reads the sink table (a change made on this node applies at once). */
export const SINK_REFRESH_MS = 2_000;
/** What a closed or replaced sink gets to send what it still holds. */
const CLOSE_GRACE_MS = 2_000;
const FILE_AND_SYSLOG_BATCH = 1_000;

/** Associated data of a sink's sealed credential: it opens only as that sink's, at that key version. */
export const sinkSecretAad = (name: string) => (keyVersion: number) => `audit_sinks/${name}/v${keyVersion}`;

export type SinkSource = "config" | "api";

interface LoadedSink {
  spec: SinkSpec;
  source: SinkSource;
  credential: (() => string) | null;
  /** Its credential is sealed in the store: it cannot send while the vault is sealed. */
  needsUnseal: boolean;
  /** What, when it changes, means the sink must be opened again. */
  fingerprint: string;
}

interface OpenSink {
  loaded: LoadedSink;
  queue: SinkQueue;
}

/**
 * The audit sinks of this node: config-file sinks from start, stored sinks re-read every
 * SINK_REFRESH_MS. Every committed entry this node made is queued to every sink; a `required`
 * sink's acknowledgement is awaited and its failure refuses the requests (fail closed).
 */
export class AuditSinkManager implements AuditDelivery {
  private readonly open = new Map<string, OpenSink>();
  /** Sinks letting go of their file or socket, by name: a replacement starts after them. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly refresher: PeriodicRefresh;
  private wasSealed = true;
  private readonly skippedRows = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    readonly configSinks: readonly SinkSpec[],
    private readonly observer: AuditSinkObserver,
    private readonly log: SinkLog,
  ) {
    this.refresher = new PeriodicRefresh("audit sinks", SINK_REFRESH_MS, () => this.reconcile(), log);
  }

  /** Opens the sinks before the server takes requests, then keeps them in step with the store. */
  async start(): Promise<void> {
    await this.refresher.start();
  }

  /** Re-reads the sink table and opens, replaces or closes sinks to match; never rejects. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  async deliver(entries: AuditEntry[]): Promise<void> {
    // A sink change must stay possible while a required sink is down (to remove or repair it); it
    // releases nothing, and its entries still go to every sink.
    const configuring = entries.every((entry) => entry.action.startsWith("audit.sink."));
    const sealed = this.box.isSealed;
    const acknowledgements: Promise<void>[] = [];
    for (const { loaded, queue } of this.open.values()) {
      const wait = loaded.spec.required && !configuring && !(sealed && loaded.needsUnseal);
      const acknowledged = queue.enqueue(entries, wait);
      if (wait) acknowledgements.push(acknowledged);
    }
    await Promise.all(acknowledgements);
  }

  async close(): Promise<void> {
    await this.refresher.stop();
    for (const [name, sink] of this.open) this.closeInBackground(name, sink);
    this.open.clear();
    await Promise.all(this.closing.values());
  }

  private async reconcile(): Promise<void> {
    const records = await this.store.listAuditSinks();
    const wanted = new Map<string, LoadedSink>();
    for (const spec of this.configSinks)
      wanted.set(spec.name, {
        spec,
        source: "config",
        credential: spec.authorization === null ? null : () => spec.authorization as string,
        needsUnseal: false,
        fingerprint: "config",
      });
    // A config-file sink wins over a stored one of the same name.
    for (const record of records) {
      if (wanted.has(record.name)) continue;
      const loaded = this.loadStored(record);
      if (loaded) wanted.set(record.name, loaded);
    }
    for (const [name, sink] of this.open) {
      if (wanted.get(name)?.fingerprint === sink.loaded.fingerprint) continue;
      this.open.delete(name);
      this.closeInBackground(name, sink);
    }
    for (const loaded of wanted.values()) if (!this.open.has(loaded.spec.name)) this.openSink(loaded);

    const sealed = this.box.isSealed;
    if (this.wasSealed && !sealed) for (const { queue } of this.open.values()) queue.retryNow();
    this.wasSealed = sealed;
  }

  private loadStored(record: AuditSinkRecord): LoadedSink | null {
    const fingerprint = JSON.stringify([
      record.type,
      record.options,
      record.required,
      record.secretCiphertext?.toString("base64") ?? null,
      record.keyVersion,
    ]);
    const parsed = parseSinkSpec(record.name, {
      type: record.type,
      description: record.description,
      options: record.options,
      required: record.required,
    });
    if (!parsed.spec) {
      // Written by hand into the database, or by a later version: not opened, said once.
      if (!this.skippedRows.has(fingerprint))
        this.log.warn({ sink: record.name, problems: parsed.problems }, "audit sink in the store not opened");
      this.skippedRows.add(fingerprint);
      return null;
    }
    const { secretCiphertext, keyVersion } = record;
    const credential =
      secretCiphertext === null || keyVersion === null
        ? null
        : () => {
            const plain = this.box.openSecret(
              secretCiphertext,
              keyVersion,
              sinkSecretAad(record.name)(keyVersion),
            );
            try {
              return plain.toString("utf8");
            } finally {
              plain.fill(0);
            }
          };
    return { spec: parsed.spec, source: "api", credential, needsUnseal: credential !== null, fingerprint };
  }

  private openSink(loaded: LoadedSink): void {
    const { name } = loaded.spec;
    const { transport, settings } = openTransport(loaded);
    const ready = this.closing.get(name) ?? Promise.resolve();
    this.open.set(name, {
      loaded,
      queue: new SinkQueue(name, transport, settings, this.observer, this.log, ready),
    });
    this.log.info({ sink: name, type: loaded.spec.type, source: loaded.source }, "audit sink open");
  }

  private closeInBackground(name: string, sink: OpenSink): void {
    const before = this.closing.get(name) ?? Promise.resolve();
    const done = before
      .then(() => sink.queue.close(CLOSE_GRACE_MS))
      .then(() => this.log.info({ sink: name }, "audit sink closed"))
      .catch(() => undefined)
      .finally(() => {
        if (this.closing.get(name) === done) this.closing.delete(name);
      });
    this.closing.set(name, done);
  }
}

function openTransport(loaded: LoadedSink): { transport: SinkTransport; settings: QueueSettings } {
  const { spec } = loaded;
  const maxQueue = Number(spec.options.max_queue);
  switch (spec.type) {
    case "file":
      return {
        transport: new FileSink(spec.options as unknown as FileOptions),
        settings: { maxQueue, maxBatch: FILE_AND_SYSLOG_BATCH, lingerMs: 0 },
      };
    case "syslog": {
      const options = spec.options as unknown as SyslogOptions;
      return {
        transport: options.protocol === "tcp" ? new TcpSyslogSink(options) : new UdpSyslogSink(options),
        settings: { maxQueue, maxBatch: FILE_AND_SYSLOG_BATCH, lingerMs: 0 },
      };
    }
    case "webhook": {
      const options = spec.options as unknown as WebhookOptions;
      return {
        transport: new WebhookSink(options, loaded.credential),
        settings: { maxQueue, maxBatch: options.batch_size, lingerMs: options.batch_ms },
      };
    }
  }
}
