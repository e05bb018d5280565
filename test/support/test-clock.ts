import type { Clock } from "../../src/core/clock.js";

/**
 * The clock an in-process test server's services read: the system clock plus however far the test
 * moved it, so time still flows for everything else, and a TTL passes at once with `advance`.
 * `freeze` stops it where it is, so a test of what happens *within* a window (a lock of 1 s) does
 * not depend on how fast a loaded machine serves its requests.
 */
export class TestClock implements Clock {
  private offsetMs = 0;
  private frozenAt: number | null = null;

  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
  }

  freeze(): void {
    this.frozenAt = this.now();
  }
}
