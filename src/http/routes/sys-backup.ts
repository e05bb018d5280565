import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { badInput } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import { RESTORE_BODY_LIMIT_BYTES } from "../body-limits.js";
import { errorSchema } from "../error-schema.js";

/** What is still read of a refused upload so that its client gets the answer. */
const DRAIN_LIMIT_BYTES = 1024 ** 3;

/** breakglass's own: encrypted backups (GET) and restoring one into an uninitialised server. */
export function sysBackupRoutes(app: FastifyInstance, services: Services): void {
  const { backup } = services;

  app.get(
    "/v1/sys/backup",
    {
      config: { action: "sys.backup" },
      exposeHeadRoute: false, // a HEAD would make (and audit) a whole backup only to discard it
      schema: {
        summary:
          "An encrypted, signed backup of everything, streamed (opens only with a quorum of the current shares)",
        tags: ["sys"],
        response: {
          200: {
            description: "the backup file (docs/backups.md)",
            content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
          },
          403: errorSchema,
          409: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const download = await backup.create(request.ctx);
      return reply
        .type("application/octet-stream")
        .header("content-disposition", `attachment; filename="${download.fileName}"`)
        .send(download.stream);
    },
  );

  // The restore reads its body as a stream of bytes, whatever the Content-Type: only in this scope.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    const passStream = (_request: FastifyRequest, payload: Readable, done: (e: null, b: Readable) => void) =>
      done(null, payload);
    scope.addContentTypeParser("application/octet-stream", passStream);
    scope.addContentTypeParser("*", passStream);
    scope.post(
      "/v1/sys/restore",
      {
        config: { sealedOk: true, rateLimited: "ceremonies" },
        schema: {
          summary:
            "Restore a backup file (the body, as application/octet-stream) into an uninitialised server; it is then sealed, and unsealing with the backup's shares applies it",
          tags: ["sys"],
          consumes: ["application/octet-stream"],
          response: {
            200: {
              type: "object",
              properties: {
                data: {
                  type: "object",
                  properties: {
                    created_at: { type: "string", description: "when the backup was made" },
                    cluster_id: { type: "string" },
                    secret_shares: { type: "integer" },
                    secret_threshold: { type: "integer", description: "shares of the backup that unseal it" },
                    key_id: { type: "string", description: "the key that signed the backup" },
                    rows: { type: "object", additionalProperties: { type: "integer" } },
                  },
                },
              },
            },
            400: errorSchema,
            409: errorSchema,
          },
        },
      },
      async (request) => {
        const body = bytesOf(request.body);
        try {
          const summary = await backup.restore(body.source, request.ctx);
          return {
            data: {
              created_at: summary.createdAt,
              cluster_id: summary.clusterId,
              secret_shares: summary.secretShares,
              secret_threshold: summary.secretThreshold,
              key_id: summary.keyId,
              rows: summary.rows,
            },
          };
        } catch (error) {
          await body.drain(); // so the refusal reaches a client still sending
          throw error;
        }
      },
    );
  });
}

/**
 * The request body as byte blocks, at most RESTORE_BODY_LIMIT_BYTES of them. One iterator is
 * kept, so what a refused restore left unread can be drained from it.
 */
function bytesOf(body: unknown): { source: AsyncIterable<Uint8Array>; drain(): Promise<void> } {
  const stream = body as Readable | undefined;
  const blocks: AsyncIterator<Uint8Array> =
    stream && typeof stream[Symbol.asyncIterator] === "function"
      ? stream[Symbol.asyncIterator]()
      : { next: async () => ({ done: true, value: undefined }) };
  let received = 0;
  const next = async (): Promise<IteratorResult<Uint8Array>> => {
    let block: IteratorResult<Uint8Array>;
    try {
      block = await blocks.next();
    } catch {
      throw badInput("the upload broke off before the end of the backup");
    }
    if (!block.done) {
      received += block.value.length;
      if (received > RESTORE_BODY_LIMIT_BYTES)
        throw badInput(`the backup is larger than ${RESTORE_BODY_LIMIT_BYTES} bytes`);
    }
    return block;
  };
  return {
    source: { [Symbol.asyncIterator]: () => ({ next }) },
    async drain() {
      try {
        for (let drained = 0; drained <= DRAIN_LIMIT_BYTES; ) {
          const block = await blocks.next();
          if (block.done) return;
          drained += block.value.length;
        }
      } catch {
        return;
      }
      stream?.destroy(); // beyond this, the client is cut off rather than read to the end
    },
  };
}
