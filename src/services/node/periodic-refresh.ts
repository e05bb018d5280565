import { describeError, type SinkLog } from "../delivery/transport.js";

/**
 * Keeps something in step with the store (audit sinks, notification channels): runs `reconcile`
 * at start, every `everyMs`, and on demand — one run at a time, never rejecting. While the store
 * cannot be read, the current state is kept and that is logged once.
 */
export class PeriodicRefresh {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly what: string,
    private readonly everyMs: number,
    private readonly reconcile: () => Promise<void>,
    private readonly log: SinkLog,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
  }

  refresh(): Promise<void> {
    const run = async () => {
      await this.reconcile();
      if (this.failing) this.log.info({}, `${this.what} re-read again`);
      this.failing = false;
    };
    this.running = this.running.then(run, run);
    return this.running.catch((error: unknown) => {
      if (!this.failing)
        this.log.warn(
          { problem: describeError(error) },
          `${this.what} not re-read: keeping the current ones`,
        );
      this.failing = true;
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running.catch(() => undefined);
  }
}
