import type { AuditEntry } from "../../core/audit-chain.js";

/** How a destination's items leave: a sink's file, syslog or webhook, or a notification channel (T is what it carries). */
export interface SinkTransport<T = AuditEntry> {
  /** Sends these items, in order; resolves once the receiver acknowledged them (see docs/audit-sinks.md). */
  send(items: T[]): Promise<void>;
  /**
   * False while it cannot send at all (its credential is sealed): the worker then lets its lease
   * go and waits, without counting a failure or an attempt. Absent means always.
   */
  canSend?(): boolean;
  /** Stops: aborts what is in flight and releases the file or socket. */
  close(): Promise<void>;
}

/**
 * What the delivery workers report; the Prometheus metrics implement it. `destination` is
 * `webhook:NAME`, `smtp`, `sink:NAME` or `sink:NAME@NODE:PATH`.
 */
export interface DeliveryObserver {
  delivered(destination: string, items: number): void;
  failed(destination: string): void;
  deadLettered(destination: string, items: number): void;
  /** What waits for the destination in the store, and how old the oldest of it is (null: nothing waits). */
  backlog(destination: string, items: number, oldestSeconds: number | null): void;
}

/** Where workers say that they went down and came back (a pino logger fits). */
export interface SinkLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** An error's message and its cause's (a wrapper may say only what failed, its cause why); never headers or bodies. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
