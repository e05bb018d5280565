import { randomUUID } from "node:crypto";
import { type Clock, isoTime } from "../../core/clock.js";
import { type BusFactor, busFactorOf, DEFAULT_DRILL_WINDOW_DAYS } from "../../core/custody.js";
import { badInput } from "../../core/errors.js";
import type { CustodianRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import { ClusterDuty } from "../delivery/leases.js";
import type { SinkLog } from "../delivery/transport.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { SealService } from "../seal/seal.js";
import { decodeShare, wrongShareLength } from "./share-collector.js";

export interface CustodyObserver {
  custodyMeasured(busFactor: BusFactor): void;
}

export interface CustodySettings {
  /** A custodian counts as able to unseal for this long after a drill. */
  drillWindowDays?: number;
  /** How often the bus factor is re-checked (and notified when it changes). */
  checkEveryMs?: number;
  /** Repeat a standing warning this often. */
  remindEveryMs?: number;
  observer?: CustodyObserver;
}

export interface CustodianList {
  threshold: number;
  shares: number;
  busFactor: BusFactor;
  custodians: (CustodianRecord & { verifiedRecently: boolean })[];
}

export interface DrillResult {
  custodian: string;
  shareIndex: number;
  lastVerified: string;
  busFactor: BusFactor;
}

const HOUR_MS = 3_600_000;
/** The cluster notice holding the bus-factor warning last told ("" once cleared). */
const BUS_FACTOR_NOTICE = "bus-factor";

/**
 * Custodians and drills: a custodian proves they still hold their share without unsealing,
 * combining or changing anything but the date of the proof; the bus factor warns when too few
 * custodians have proven theirs lately (fewer than threshold + 1 within the window).
 */
export class CustodianService {
  private readonly windowDays: number;
  private readonly monitor: PeriodicRefresh;
  private readonly duty: ClusterDuty;

  constructor(
    private readonly seal: SealService,
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly settings: CustodySettings,
    private readonly clock: Clock,
    log: SinkLog,
  ) {
    this.windowDays = settings.drillWindowDays ?? DEFAULT_DRILL_WINDOW_DAYS;
    this.duty = new ClusterDuty(store.delivery, "bus-factor");
    this.monitor = new PeriodicRefresh(
      "custodians",
      settings.checkEveryMs ?? HOUR_MS,
      () => this.check(),
      log,
    );
  }

  start(): Promise<void> {
    return this.monitor.start();
  }

  stop(): Promise<void> {
    return this.monitor.stop();
  }

  async list(): Promise<CustodianList> {
    const config = await this.seal.initializedConfig();
    const custodians = await this.store.listCustodians();
    const busFactor = busFactorOf(
      custodians,
      config.secretThreshold,
      this.windowDays,
      new Date(this.clock.now()),
    );
    const since = this.clock.now() - this.windowDays * 86_400_000;
    return {
      threshold: config.secretThreshold,
      shares: config.secretShares,
      busFactor,
      custodians: custodians.map((c) => ({
        ...c,
        verifiedRecently: c.lastVerified !== null && Date.parse(c.lastVerified) >= since,
      })),
    };
  }

  /** The bus factor now, or null before init. */
  async busFactor(): Promise<BusFactor | null> {
    const config = await this.seal.status();
    if (!config.initialized) return null;
    return (await this.list()).busFactor;
  }

  /** Says whose share `key` is, and records that they proved it; the seal is left as it is. */
  async drill(key: string, ctx: RequestContext): Promise<DrillResult> {
    const config = await this.seal.initializedConfig();
    const share = decodeShare(key, config.secretThreshold);
    if (share === null) {
      await this.refuse(ctx, "wrong share length");
      throw badInput(wrongShareLength(config.secretThreshold));
    }
    let custodian: CustodianRecord | null;
    try {
      custodian = await this.seal.custodianRecordOf(config, share);
    } finally {
      share.fill(0);
    }
    if (custodian === null) {
      await this.refuse(ctx, "not a share of this vault's current set");
      throw badInput(
        "this share does not belong to this vault's current set of shares: it is another vault's, or it was replaced by a rekey",
      );
    }
    const lastVerified = isoTime(this.clock);
    await this.audit.record(ctx, {
      action: "sys.custodians.drill",
      target: `custodian:${custodian.name}`,
      outcome: "allowed",
      details: { share_index: custodian.shareIndex },
    });
    await this.store.markCustodianVerified(custodian.shareIndex, lastVerified);
    await this.check();
    const { busFactor } = await this.list();
    return { custodian: custodian.name, shareIndex: custodian.shareIndex, lastVerified, busFactor };
  }

  /**
   * Measures the bus factor; tells when a warning appears, clears, or still stands after a while —
   * once for the cluster: one node at a time decides (a cluster duty), and what was last told is
   * stored only after its entry and event are committed (a crash between repeats it, never loses it).
   */
  async check(): Promise<void> {
    const measured = await this.busFactor();
    if (measured === null) return;
    this.settings.observer?.custodyMeasured(measured);
    await this.duty.run(async () => {
      // Measured again under the duty: another node may have told a change since the first look.
      const busFactor = await this.busFactor();
      if (busFactor === null) return;
      const now = this.clock.now();
      const told = await this.store.delivery.readNotice(BUS_FACTOR_NOTICE);
      const previous = told ? { warning: told.value || null, at: Date.parse(told.at) } : null;
      // Told when the warning appears or clears, not at each drill that moves the count.
      const changed =
        (previous?.warning ?? null) === null ? busFactor.warning !== null : busFactor.warning === null;
      const standing =
        previous !== null &&
        busFactor.warning !== null &&
        now - previous.at >= (this.settings.remindEveryMs ?? 7 * 24 * HOUR_MS);
      if (!changed && !standing) return;
      await this.audit.recordBySystem(`custody-${randomUUID()}`, {
        action: "sys.custodians.bus-factor",
        target: "custodians",
        outcome: "allowed",
        details: {
          warning: busFactor.warning !== null,
          verified_recently: busFactor.verifiedRecently,
          window_days: busFactor.windowDays,
        },
        notify: {
          type: "custody",
          actor: "breakglass",
          text:
            busFactor.warning ??
            `bus factor restored: ${busFactor.verifiedRecently} custodians proved their share in the last ${busFactor.windowDays} days`,
        },
      });
      await this.store.delivery.writeNotice(BUS_FACTOR_NOTICE, busFactor.warning ?? "", isoTime(this.clock));
    });
  }

  private async refuse(ctx: RequestContext, problem: string): Promise<void> {
    await this.audit.record(ctx, { action: "sys.custodians.drill", outcome: "denied", details: { problem } });
  }
}
