import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { VERSION } from "../../version.js";

/**
 * POSTs JSON to a receiver we do not control (an audit webhook, a notification webhook): a 2xx
 * answer is success; anything else — a redirect too, so credentials stay with the configured URL —
 * is a failure for the caller to retry. node:http with kept-alive connections, not fetch: a
 * delivery per event must cost the event loop little. Requests in flight are aborted on close.
 */
export class OutboundPost {
  private readonly inFlight = new Set<AbortController>();
  private readonly agents = {
    "http:": new HttpAgent({ keepAlive: true, maxSockets: 4 }),
    "https:": new HttpsAgent({ keepAlive: true, maxSockets: 4 }),
  };
  private closed = false;

  constructor(
    private readonly what: string,
    private readonly timeoutMs: number,
  ) {}

  async send(url: string, body: string, headers: Record<string, string>): Promise<void> {
    if (this.closed) throw new Error(`the ${this.what} is closed`);
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    this.inFlight.add(controller);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const sent = (secure ? httpsRequest : httpRequest)(
          target,
          {
            method: "POST",
            agent: secure ? this.agents["https:"] : this.agents["http:"],
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(body),
              "user-agent": `breakglass/${VERSION}`,
              ...headers,
            },
            signal: controller.signal,
          },
          (response: IncomingMessage) => {
            response.resume(); // the answer's body is not read, only drained
            response.once("end", () => resolve(response.statusCode ?? 0));
            response.once("error", reject);
          },
        );
        sent.once("error", (error) => reject(controller.signal.reason ?? error));
        sent.end(body);
      });
      if (status < 200 || status > 299) throw new Error(`the ${this.what} answered ${status}`);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort(new Error(`the ${this.what} was closed`));
    for (const agent of Object.values(this.agents)) agent.destroy();
  }
}
