import type { Clock } from "../../src/core/clock.js";

/**
 * The clock an in-process test server's services read: the system clock plus however far the test
 * moved it, so time still flows for everything else, and a TTL passes at once with `advance`.
 */
export class TestClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
