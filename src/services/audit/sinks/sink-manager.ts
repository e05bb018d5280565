import type { AuditEntry } from "../../../core/audit-chain.js";
import type { AuditSinkRecord, Store } from "../../../store/store.js";
import { DEFAULT_LINGER_MS, type DeliverySource, DeliveryWorker } from "../../delivery/delivery-worker.js";
import type { DeliveryObserver, SinkLog, SinkTransport } from "../../delivery/transport.js";
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
import { TcpSyslogSink, UdpSyslogSink } from "./syslog-sink.js";
import { WebhookSink } from "./webhook-sink.js";

/** How often each node re-reads the sink table (a change made on this node applies at once). */
export const SINK_REFRESH_MS = 2_000;
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
  worker: DeliveryWorker<AuditEntry>;
}

/**
 * Where a sink's position is kept: a file is one per node and file (each node writes its own
 * disk), a syslog collector or a webhook one per cluster (one node at a time sends each entry).
 */
export function sinkDestination(spec: SinkSpec, node: string): string {
  return spec.type === "file" ? `sink:${spec.name}@${node}:${spec.options.path}` : `sink:${spec.name}`;
}

/**
 * The audit sinks: config-file sinks from start, stored sinks re-read every SINK_REFRESH_MS. Each
 * is delivered from the chain itself (services/delivery), from its position on; a `required`
 * sink's acknowledgement of a request's entries is awaited, and its failure refuses the request
 * (fail closed).
 */
export class AuditSinkManager implements AuditDelivery {
  private readonly open = new Map<string, OpenSink>();
  /** Sinks letting go of their file, socket and lease, by name: a replacement starts after them. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly refresher: PeriodicRefresh;
  private readonly skippedRows = new Set<string>();
  private readonly source: DeliverySource<AuditEntry>;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    readonly configSinks: readonly SinkSpec[],
    private readonly observer: DeliveryObserver,
    private readonly log: SinkLog,
    /** This node's name (config node_name): a file sink's position is the node's own. */
    private readonly node: string,
  ) {
    this.refresher = new PeriodicRefresh("audit sinks", SINK_REFRESH_MS, () => this.reconcile(), log);
    this.source = {
      kind: "audit",
      after: async (position, limit) =>
        (await store.listAuditEntries({ afterSeq: position, limit })).map((entry) => ({
          seq: entry.seq,
          item: entry,
        })),
      head: async () => (await store.readAuditHead())?.seq ?? 0,
      toPayload: (entry) => JSON.stringify(entry),
      fromPayload: (payload) => JSON.parse(payload) as AuditEntry,
      summary: (entry) => `${entry.action} ${entry.target ?? "-"} ${entry.outcome} by ${entry.actor}`,
    };
  }

  /** Opens the sinks before the server takes requests, then keeps them in step with the store. */
  async start(): Promise<void> {
    await this.refresher.start();
  }

  /** Re-reads the sink table and opens, replaces or closes sinks to match; never rejects. */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  /** The open sinks' workers, for the deliveries API. */
  workers(): DeliveryWorker<AuditEntry>[] {
    return [...this.open.values()].map((sink) => sink.worker);
  }

  async deliver(entries: AuditEntry[]): Promise<void> {
    const last = entries.at(-1);
    if (!last) return;
    // A sink change must stay possible while a required sink is down (to remove or repair it); it
    // releases nothing, and its entries still go to every sink.
    const configuring = entries.every((entry) => entry.action.startsWith("audit.sink."));
    const sealed = this.box.isSealed;
    const acknowledgements: Promise<void>[] = [];
    for (const { loaded, worker } of this.open.values()) {
      worker.poke();
      if (loaded.spec.required && !configuring && !(sealed && loaded.needsUnseal))
        acknowledgements.push(worker.delivered(last.seq));
    }
    await Promise.all(acknowledgements);
  }

  async close(): Promise<void> {
    await this.refresher.stop();
    for (const [name, sink] of this.open) this.closeInBackground(name, sink);
    this.open.clear();
    await Promise.all(this.closing.values());
  }

  /** Closes a removed sink and forgets its position and dead letters: a new sink of that name starts afresh. */
  async removed(name: string, record: AuditSinkRecord | undefined): Promise<void> {
    await this.refresh();
    await this.closing.get(name);
    const spec = record && this.loadStored(record)?.spec;
    if (spec) await this.store.delivery.forget(sinkDestination(spec, this.node));
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
    for (const loaded of wanted.values()) if (!this.open.has(loaded.spec.name)) await this.openSink(loaded);
    // Unsealed: a sink whose credential was sealed can send now.
    if (!this.box.isSealed) for (const { worker } of this.open.values()) worker.poke();
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

  private async openSink(loaded: LoadedSink): Promise<void> {
    const { spec } = loaded;
    const { transport, maxBatch, lingerMs } = openTransport(loaded, () => !this.box.isSealed);
    const maxAttempts = Number(spec.options.max_attempts ?? 0);
    const worker = new DeliveryWorker(
      {
        destination: sinkDestination(spec, this.node),
        transport,
        source: this.source,
        maxBatch,
        lingerMs,
        maxAttempts: maxAttempts > 0 ? maxAttempts : Number.POSITIVE_INFINITY,
        what: "audit sink",
      },
      this.store.delivery,
      this.observer,
      this.log,
      this.closing.get(spec.name) ?? Promise.resolve(),
    );
    this.open.set(spec.name, { loaded, worker });
    await worker.start();
    this.log.info({ sink: spec.name, type: spec.type, source: loaded.source }, "audit sink open");
  }

  private closeInBackground(name: string, sink: OpenSink): void {
    const before = this.closing.get(name) ?? Promise.resolve();
    const done = before
      .then(() => sink.worker.close())
      .then(() => this.log.info({ sink: name }, "audit sink closed"))
      .catch(() => undefined)
      .finally(() => {
        if (this.closing.get(name) === done) this.closing.delete(name);
      });
    this.closing.set(name, done);
  }
}

function openTransport(
  loaded: LoadedSink,
  unsealed: () => boolean,
): { transport: SinkTransport; maxBatch: number; lingerMs: number } {
  const { spec } = loaded;
  switch (spec.type) {
    case "file":
      return {
        transport: new FileSink(spec.options as unknown as FileOptions),
        maxBatch: FILE_AND_SYSLOG_BATCH,
        lingerMs: DEFAULT_LINGER_MS,
      };
    case "syslog": {
      const options = spec.options as unknown as SyslogOptions;
      return {
        transport: options.protocol === "tcp" ? new TcpSyslogSink(options) : new UdpSyslogSink(options),
        maxBatch: FILE_AND_SYSLOG_BATCH,
        lingerMs: DEFAULT_LINGER_MS,
      };
    }
    case "webhook": {
      const options = spec.options as unknown as WebhookOptions;
      return {
        transport: new WebhookSink(options, loaded.credential, loaded.needsUnseal ? unsealed : () => true),
        maxBatch: options.batch_size,
        lingerMs: options.batch_ms,
      };
    }
  }
}
