import type { AuditEntry } from "../../../core/audit-chain.js";
import { OutboundPost } from "../../node/outbound-post.js";
import type { WebhookOptions } from "./sink-config.js";
import type { SinkTransport } from "./sink-queue.js";

/**
 * POSTs `{"entries": [entry, …]}` (entry objects as `GET /v1/audit` shows them) to `url`.
 * Delivered means a 2xx answer; anything else (a redirect too: the credential stays with the
 * configured URL) is a failure, retried by the queue. The Authorization value is asked for at
 * each send: a stored one opens only while the vault is unsealed, and is never kept in the clear.
 */
export class WebhookSink implements SinkTransport {
  private readonly post: OutboundPost;

  constructor(
    private readonly options: WebhookOptions,
    private readonly authorization: (() => string) | null,
  ) {
    this.post = new OutboundPost("webhook sink", options.timeout_ms);
  }

  async send(entries: AuditEntry[]): Promise<void> {
    const headers: Record<string, string> = this.authorization ? { authorization: this.authorization() } : {};
    await this.post.send(this.options.url, JSON.stringify({ entries }), headers);
  }

  async close(): Promise<void> {
    this.post.close();
  }
}
