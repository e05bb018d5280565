import type { AuditEntry } from "../../core/audit-chain.js";
import { VERSION } from "../../version.js";
import type { WebhookOptions } from "./sink-config.js";
import type { SinkTransport } from "./sink-queue.js";

/**
 * POSTs `{"entries": [entry, …]}` (entry objects as `GET /v1/audit` shows them) to `url`.
 * Delivered means a 2xx answer; anything else (a redirect too: the credential stays with the
 * configured URL) is a failure, retried by the queue. The Authorization value is asked for at
 * each send: a stored one opens only while the vault is unsealed, and is never kept in the clear.
 */
export class WebhookSink implements SinkTransport {
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly options: WebhookOptions,
    private readonly authorization: (() => string) | null,
  ) {}

  async send(entries: AuditEntry[]): Promise<void> {
    if (this.closed) throw new Error("the webhook sink is closed");
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": `breakglass/${VERSION}`,
    };
    if (this.authorization) headers.authorization = this.authorization();
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.options.timeout_ms} ms`)),
      this.options.timeout_ms,
    );
    this.inFlight.add(controller);
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers,
        body: JSON.stringify({ entries }),
        redirect: "manual",
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299)
        throw new Error(`the webhook answered ${response.status}`);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort(new Error("the webhook sink was closed"));
  }
}
