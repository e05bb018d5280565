import { VERSION } from "../../version.js";

/**
 * POSTs JSON to a receiver we do not control (an audit webhook, a notification webhook): a 2xx
 * answer is success; anything else — a redirect too, so credentials stay with the configured URL —
 * is a failure for the caller's queue to retry. Requests in flight are aborted on close.
 */
export class OutboundPost {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly what: string,
    private readonly timeoutMs: number,
  ) {}

  async send(url: string, body: string, headers: Record<string, string>): Promise<void> {
    if (this.closed) throw new Error(`the ${this.what} is closed`);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    this.inFlight.add(controller);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": `breakglass/${VERSION}`, ...headers },
        body,
        redirect: "manual",
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299)
        throw new Error(`the ${this.what} answered ${response.status}`);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort(new Error(`the ${this.what} was closed`));
  }
}
