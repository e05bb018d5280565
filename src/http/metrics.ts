import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BusFactor } from "../core/custody.js";
import type { AuditObserver } from "../services/audit/audit-log.js";
import type { DeliveryObserver } from "../services/delivery/transport.js";
import type { NodeCondition } from "../services/node/node-condition.js";

/** What the clock gauge reads (services/node-clock.ts); a wrong clock is also a node condition, `clock`. */
export interface ClockSkew {
  skewSeconds(): number | null;
}

/** Prometheus metrics for /metrics. Labels never carry a key name's secret, only route patterns and sink names. */
export class Metrics implements AuditObserver, DeliveryObserver {
  readonly registry = new Registry();
  readonly requests = new Histogram({
    name: "breakglass_http_request_duration_seconds",
    help: "HTTP request duration by route pattern and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly auditTransaction = new Histogram({
    name: "breakglass_audit_transaction_entries",
    help: "Audit entries made durable per transaction, i.e. per fsync (group commit)",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });
  private readonly auditCommit = new Histogram({
    name: "breakglass_audit_commit_seconds",
    help: "Time from handing a batch of audit entries to the store to their durable commit",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  private readonly requiredSinkRefusals = new Counter({
    name: "breakglass_audit_required_sink_refusals_total",
    help: "Committed audit batches whose requests were refused because a required sink did not take them",
    registers: [this.registry],
  });
  private readonly auditFailures = new Counter({
    name: "breakglass_audit_commit_failures_total",
    help: "Audit batches that could not be committed (their requests were refused)",
    registers: [this.registry],
  });

  private readonly sinkDeliveries = new Counter({
    name: "breakglass_audit_sink_delivered_total",
    help: "Audit entries a sink acknowledged",
    labelNames: ["sink"],
    registers: [this.registry],
  });
  private readonly sinkFailures = new Counter({
    name: "breakglass_audit_sink_failures_total",
    help: "Failed attempts to deliver to a sink (each is retried)",
    labelNames: ["sink"],
    registers: [this.registry],
  });
  private readonly sinkDeadLetters = new Counter({
    name: "breakglass_audit_sink_dead_letters_total",
    help: "Audit entries a sink gave up on after max_attempts, kept as dead letters",
    labelNames: ["sink"],
    registers: [this.registry],
  });
  private readonly sinkQueue = new Gauge({
    name: "breakglass_audit_sink_queue",
    help: "Audit entries waiting in the store for a sink",
    labelNames: ["sink"],
    registers: [this.registry],
  });
  private readonly deliveryBacklog = new Gauge({
    name: "breakglass_delivery_backlog",
    help: "Items waiting in the store for a destination (webhook:NAME, smtp, sink:NAME…)",
    labelNames: ["destination"],
    registers: [this.registry],
  });
  private readonly deliveryOldest = new Gauge({
    name: "breakglass_delivery_oldest_seconds",
    help: "Age of the oldest item waiting for a destination; 0 when nothing waits",
    labelNames: ["destination"],
    registers: [this.registry],
  });

  private readonly notificationsSent = new Counter({
    name: "breakglass_notifications_sent_total",
    help: "Notifications a channel (webhook:NAME or smtp) delivered",
    labelNames: ["channel"],
    registers: [this.registry],
  });
  private readonly notificationFailures = new Counter({
    name: "breakglass_notification_failures_total",
    help: "Failed attempts to deliver a notification (each is retried)",
    labelNames: ["channel"],
    registers: [this.registry],
  });
  private readonly notificationDeadLetters = new Counter({
    name: "breakglass_notification_dead_letters_total",
    help: "Notifications given up on after too many failed attempts, kept as dead letters",
    labelNames: ["channel"],
    registers: [this.registry],
  });

  private readonly custodiansVerified = new Gauge({
    name: "breakglass_custodians_verified_recently",
    help: "Custodians who proved their share by a drill within the drill window",
    registers: [this.registry],
  });
  private readonly custodyWarning = new Gauge({
    name: "breakglass_custody_warning",
    help: "1 while fewer than threshold + 1 custodians proved their share within the drill window (bus factor)",
    registers: [this.registry],
  });

  constructor(isSealed: () => boolean, clock: () => ClockSkew | null, condition?: NodeCondition) {
    collectDefaultMetrics({ register: this.registry });
    // Every cause ever set stays in the output: 0 once cleared, so an alert sees it end.
    const seen = new Map<string, { cause: string; kind: string }>();
    new Gauge({
      name: "breakglass_node_condition",
      help: "1 while a condition of health holds: kind blocking (health 503) or warning, by cause",
      labelNames: ["cause", "kind"],
      registers: [this.registry],
      collect() {
        for (const labels of seen.values()) this.set(labels, 0);
        for (const { cause, kind } of condition?.current() ?? []) {
          seen.set(`${kind}:${cause}`, { cause, kind });
          this.set({ cause, kind }, 1);
        }
      },
    });
    new Gauge({
      name: "breakglass_sealed",
      help: "1 while sealed (no key material in memory)",
      registers: [this.registry],
      collect() {
        this.set(isSealed() ? 1 : 0);
      },
    });
    new Gauge({
      name: "breakglass_clock_skew_seconds",
      help: "How far the database's clock is ahead of this node's (negative: behind); absent on SQLite",
      registers: [this.registry],
      collect() {
        const skew = clock()?.skewSeconds() ?? null;
        if (skew === null) this.reset();
        else this.set(skew);
      },
    });
  }

  custodyMeasured(busFactor: BusFactor): void {
    this.custodiansVerified.set(busFactor.verifiedRecently);
    this.custodyWarning.set(busFactor.warning === null ? 0 : 1);
  }

  batchCommitted(seconds: number): void {
    this.auditCommit.observe(seconds);
  }

  auditTransactionCommitted(entries: number): void {
    this.auditTransaction.observe(entries);
  }

  commitFailed(): void {
    this.auditFailures.inc();
  }

  deliveryFailed(): void {
    this.requiredSinkRefusals.inc();
  }

  delivered(destination: string, items: number): void {
    const sink = sinkName(destination);
    if (sink !== null) this.sinkDeliveries.inc({ sink }, items);
    else this.notificationsSent.inc({ channel: destination }, items);
  }

  failed(destination: string): void {
    const sink = sinkName(destination);
    if (sink !== null) this.sinkFailures.inc({ sink });
    else this.notificationFailures.inc({ channel: destination });
  }

  deadLettered(destination: string, items: number): void {
    const sink = sinkName(destination);
    if (sink !== null) this.sinkDeadLetters.inc({ sink }, items);
    else this.notificationDeadLetters.inc({ channel: destination }, items);
  }

  backlog(destination: string, items: number, oldestSeconds: number | null): void {
    this.deliveryBacklog.set({ destination }, items);
    this.deliveryOldest.set({ destination }, oldestSeconds ?? 0);
    const sink = sinkName(destination);
    if (sink !== null) this.sinkQueue.set({ sink }, items);
  }
}

/** A sink's name from its destination (`sink:NAME` or `sink:NAME@NODE:PATH`); null for a notification channel. */
function sinkName(destination: string): string | null {
  if (!destination.startsWith("sink:")) return null;
  const name = destination.slice("sink:".length);
  const at = name.indexOf("@");
  return at === -1 ? name : name.slice(0, at);
}
