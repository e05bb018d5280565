/**
 * Where services read the time: the system clock in production (`systemClock`), one a test moves
 * in the in-process test harness. Durations (performance.now) and timer scheduling do not use it.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The clock's time as an ISO 8601 string, as rows and audit entries store it. */
export function isoTime(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
