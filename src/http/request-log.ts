import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

/**
 * Fastify's lines about each request: none when one arrives, and one when it is answered — at
 * debug, since every request that touches a secret is on the audit chain already (two lines at
 * info cost a quarter of the code reads a second). A request that failed to answer is an error.
 * The path is logged without its query: a query can carry a secret (a sign-in's code and state).
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
    else
      reply.log.debug(
        {
          method: request.method,
          url: request.url.split("?", 1)[0],
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        "request completed",
      );
  }
}
