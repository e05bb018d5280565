import type { FastifyInstance } from "fastify";

/**
 * While the server closes (app.close()), every answer closes its connection: an idle keep-alive
 * connection would otherwise hold the close open until the client let go (Fastify keeps them
 * 72 s). A request that still reaches a route then — pipelined, or racing the close — is served
 * like those in flight rather than refused in Fastify's own, non-Vault shape (return503OnClosing).
 */
export function installDraining(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    if (closing) reply.header("connection", "close");
    return payload;
  });
}
