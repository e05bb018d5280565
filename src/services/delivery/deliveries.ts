import { badInput } from "../../core/errors.js";
import type { Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { WorkerView } from "./delivery-worker.js";

/** Which destinations a request is about: notification channels (admin) or audit sinks (root). */
export type DeliveryKind = "notifications" | "sinks";

export interface DestinationView {
  destination: string;
  position: number;
  backlog: number;
  oldestSeconds: number | null;
  /** This node's view: whether its last attempt failed (another node may hold the lease). */
  failing: boolean;
  lastError: string | null;
  deadLetters: number;
}

export interface DeadLetterView {
  destination: string;
  seq: number;
  summary: string;
  error: string;
  attempts: number;
  deadAt: string;
  redrive: boolean;
}

interface KindOf {
  source: "outbox" | "audit";
  workers: () => WorkerView[];
  readAction: "notify.delivery.read" | "audit.sink.read";
  redriveAction: "notify.delivery.redrive" | "audit.sink.redrive";
  target: string;
  owns(destination: string): boolean;
}

/**
 * What is undelivered and what was given up on, per destination, and redriving dead letters:
 * `GET /v1/notify/deliveries`, `…/dead-letters`, `POST …/dead-letters/redrive` and the same
 * under `/v1/audit/sinks/` for the sinks. Every read and redrive is on the audit chain.
 */
export class DeliveryService {
  private readonly kinds: Record<DeliveryKind, KindOf>;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    workers: Record<DeliveryKind, () => WorkerView[]>,
  ) {
    this.kinds = {
      notifications: {
        source: "outbox",
        workers: workers.notifications,
        readAction: "notify.delivery.read",
        redriveAction: "notify.delivery.redrive",
        target: "notify/deliveries",
        owns: (destination) => destination === "smtp" || destination.startsWith("webhook:"),
      },
      sinks: {
        source: "audit",
        workers: workers.sinks,
        readAction: "audit.sink.read",
        redriveAction: "audit.sink.redrive",
        target: "audit/deliveries",
        owns: (destination) => destination.startsWith("sink:"),
      },
    };
  }

  async destinations(kind: DeliveryKind, ctx: RequestContext): Promise<DestinationView[]> {
    const of = this.kinds[kind];
    await this.audit.record(ctx, { action: of.readAction, target: of.target, outcome: "allowed" });
    const here = new Map(of.workers().map((worker) => [worker.destination, worker]));
    const positions = (await this.store.delivery.positions()).filter(({ destination }) =>
      here.has(destination),
    );
    const letters = await this.store.delivery.deadLetters();
    const now = Date.now();
    return Promise.all(
      positions.map(async ({ destination, position: stored }) => {
        const worker = here.get(destination);
        const position = worker?.heldPosition ?? stored;
        const { count, oldest } = await this.store.delivery.backlog(of.source, position);
        return {
          destination,
          position,
          backlog: count,
          oldestSeconds: oldest === null ? null : Math.max(0, (now - Date.parse(oldest)) / 1000),
          failing: worker?.isFailing ?? false,
          lastError: worker?.lastError ?? null,
          deadLetters: letters.filter((letter) => letter.destination === destination).length,
        };
      }),
    );
  }

  async deadLetters(kind: DeliveryKind, ctx: RequestContext): Promise<DeadLetterView[]> {
    const of = this.kinds[kind];
    await this.audit.record(ctx, {
      action: of.readAction,
      target: `${of.target}/dead-letters`,
      outcome: "allowed",
    });
    return (await this.store.delivery.deadLetters())
      .filter((letter) => of.owns(letter.destination))
      .map(({ payload: _payload, ...shown }) => shown);
  }

  /** Marks the matching dead letters to be sent again; returns how many. */
  async redrive(
    kind: DeliveryKind,
    filter: { destination?: string; seq?: number },
    ctx: RequestContext,
  ): Promise<number> {
    const of = this.kinds[kind];
    const letters = await this.store.delivery.deadLetters();
    const known = new Set(
      [
        ...letters.map((letter) => letter.destination),
        ...of.workers().map((worker) => worker.destination),
      ].filter(of.owns),
    );
    // Only a destination that exists is put on the record: any other text is refused, not stored.
    if (filter.destination !== undefined && !known.has(filter.destination))
      throw badInput(
        kind === "notifications"
          ? "destination is not a notification channel here: smtp or webhook:NAME, as the dead letters list it"
          : "destination is not an audit sink here: sink:…, as the dead letters list it",
      );
    await this.audit.record(ctx, {
      action: of.redriveAction,
      target: `${of.target}/dead-letters`,
      outcome: "allowed",
      details: { destination: filter.destination ?? "*", seq: filter.seq ?? "*" },
    });
    const destinations = [...known].filter(
      (destination) => filter.destination === undefined || destination === filter.destination,
    );
    const marked = await this.store.delivery.markRedrive(destinations, filter.seq);
    // Only a worker that has letters to send again is woken: a redrive that matches nothing must
    // not cut a failing destination's backoff short.
    const redriven = new Set(
      letters
        .filter((letter) => destinations.includes(letter.destination))
        .filter((letter) => filter.seq === undefined || letter.seq === filter.seq)
        .map((letter) => letter.destination),
    );
    for (const worker of of.workers()) if (redriven.has(worker.destination)) worker.redriveRequested();
    return marked;
  }
}
