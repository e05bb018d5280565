import { randomUUID } from "node:crypto";
import { isIPv6 } from "node:net";
import type { AuditAction } from "../../core/audit-actions.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { TooManyAttemptsError } from "../../core/errors.js";
import type { RequestContext } from "../context.js";
import { describeError, type SinkLog } from "../delivery/transport.js";
import { PeriodicRefresh } from "../node/periodic-refresh.js";
import type { AuditLog, AuditRecord } from "./audit-log.js";

export interface RefusalFloodSettings {
  /** Refusals from one address audited one by one each minute (`rate_limits.unauthenticated_refusals`). */
  perMinute: number;
  /** Addresses followed at once; those beyond share one count, so memory stays bounded. */
  maxAddresses?: number;
}

export const FLOOD_ACTION = "auth.flood" satisfies AuditAction;
const MINUTE_MS = 60_000;
const DEFAULT_MAX_ADDRESSES = 10_000;
/** The address of the count that addresses beyond `maxAddresses` share. */
export const OTHER_ADDRESSES = "others";
/** How many distinct actions an aggregated entry names; more are summed up as "…". */
const MAX_ACTIONS_NAMED = 10;

interface AddressCount {
  /** Refusals audited one by one this minute. */
  audited: number;
  /** Refusals past the budget: answered 429 and counted here, not audited one by one. */
  refused: number;
  first: string | null;
  last: string | null;
  /** The last address seen (for an IPv6 /64, one of its addresses). */
  lastAddress: string | null;
  actions: Set<string>;
}

/**
 * Refusals of callers without a valid token (no token, a bad or expired one, a cookie without its
 * CSRF token). Anyone who reaches the server can cause them, thousands a second, and each was an
 * audit entry. Each address (an IPv6 /64 as one) gets `perMinute` of them audited one by one in a
 * minute; past that, a refusal is answered 429 with Retry-After and only counted, and when the
 * minute ends one `auth.flood` entry per such address says how many, when, and for which actions. A valid token from the same address is never held up: only refusals count.
 */
export class RefusalFlood {
  private counts = new Map<string, AddressCount>();
  private intervalStarted: number;
  private readonly maxAddresses: number;
  private readonly timer: PeriodicRefresh;

  constructor(
    private readonly audit: AuditLog,
    private readonly settings: RefusalFloodSettings,
    private readonly log: SinkLog,
    private readonly clock: Clock,
  ) {
    this.intervalStarted = clock.now();
    this.maxAddresses = settings.maxAddresses ?? DEFAULT_MAX_ADDRESSES;
    this.timer = new PeriodicRefresh("flood entries", MINUTE_MS, () => this.flush(), log);
  }

  /** Audits a refusal, as `AuditLog.record` would; past the address's budget, throws 429 instead. */
  async record(ctx: RequestContext, record: AuditRecord): Promise<void> {
    const count = this.countOf(ctx.remoteAddr);
    count.lastAddress = ctx.remoteAddr;
    if (count.audited < this.settings.perMinute) {
      count.audited++;
      await this.audit.record(ctx, record);
      return;
    }
    const now = isoTime(this.clock);
    count.refused++;
    count.first ??= now;
    count.last = now;
    if (count.actions.size <= MAX_ACTIONS_NAMED) count.actions.add(record.action);
    const retryAfter = Math.max(1, Math.ceil((this.intervalStarted + MINUTE_MS - this.clock.now()) / 1000));
    throw new TooManyAttemptsError(
      `too many refused requests without a valid token from this address (at most ${this.settings.perMinute} a minute): try again in ${retryAfter} s`,
      retryAfter,
    );
  }

  start(): Promise<void> {
    return this.timer.start();
  }

  /**
   * Ends the minute: one `auth.flood` entry for each address that went past its budget, and every
   * budget afresh. Run by the timer, and at shutdown.
   */
  async flush(): Promise<void> {
    const counts = this.counts;
    this.counts = new Map();
    this.intervalStarted = this.clock.now();
    const floods = [...counts].filter(([, count]) => count.refused > 0);
    if (floods.length === 0) return;
    const requestId = `auth-flood-${randomUUID()}`;
    const refused = floods.reduce((sum, [, count]) => sum + count.refused, 0);
    try {
      await Promise.all(floods.map(([address, count]) => this.recordFlood(address, count, requestId)));
    } catch (error) {
      this.log.warn(
        { problem: describeError(error), addresses: floods.length, refused },
        "refusals without a valid token past the budget were not recorded",
      );
      return;
    }
    this.log.warn(
      { addresses: floods.length, refused, request_id: requestId },
      "refusals without a valid token past the budget: recorded as auth.flood entries",
    );
  }

  /** Stops the timer and writes what the last minute counted. */
  async stop(): Promise<void> {
    await this.timer.stop();
    await this.flush();
  }

  private countOf(remoteAddr: string | null): AddressCount {
    const address = remoteAddr === null ? OTHER_ADDRESSES : addressBlockOf(remoteAddr);
    const known = this.counts.get(address);
    if (known) return known;
    const key = this.counts.size < this.maxAddresses ? address : OTHER_ADDRESSES;
    const count = this.counts.get(key) ?? {
      audited: 0,
      refused: 0,
      first: null,
      last: null,
      lastAddress: null,
      actions: new Set<string>(),
    };
    this.counts.set(key, count);
    return count;
  }

  private async recordFlood(address: string, count: AddressCount, requestId: string): Promise<void> {
    const actions = [...count.actions].sort();
    await this.audit.record(
      { actor: null, requestId, remoteAddr: count.lastAddress, userAgent: null },
      {
        action: FLOOD_ACTION,
        outcome: "denied",
        details: {
          address,
          count: count.refused,
          first: count.first,
          last: count.last,
          actions:
            actions.length > MAX_ACTIONS_NAMED
              ? `${actions.slice(0, MAX_ACTIONS_NAMED).join(",")},…`
              : actions.join(","),
          audited: count.audited,
        },
      },
    );
  }
}

/** The address a count is kept for: an IPv4 address (also when mapped into IPv6) as is, an IPv6 one as its /64. */
export function addressBlockOf(address: string): string {
  if (!isIPv6(address)) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address.split("%")[0] as string; // no zone (fe80::1%eth0)
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const groupsOf = (part: string | undefined) => (part ? part.split(":") : []);
  const front = groupsOf(head);
  const back = groupsOf(tail);
  const zeros = Array<string>(8 - front.length - back.length).fill("0");
  return [...front, ...zeros, ...back].map((group) => Number.parseInt(group, 16).toString(16));
}
