import type { AuditEntry } from "../../../core/audit-chain.js";
import type { SinkTransport } from "../../delivery/transport.js";
import { OutboundPost } from "../../node/outbound-post.js";
import type { WebhookOptions } from "./sink-config.js";

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
    /** A stored authorization opens only while the vault is unsealed. */
    readonly canSend: () => boolean,
  ) {
    this.post = new OutboundPost("webhook sink", options.timeout_ms);
  }

  async send(entries: AuditEntry[]): Promise<void> {
    // The receiver deduplicates by seq: a batch sent again after a crash names the same range.
    const range = `${entries[0]?.seq}-${entries.at(-1)?.seq}`;
    const headers: Record<string, string> = { "x-breakglass-seq": range };
    if (this.authorization) headers.authorization = this.authorization();
    await this.post.send(this.options.url, JSON.stringify({ entries }), headers);
  }

  async close(): Promise<void> {
    this.post.close();
  }
}
