import type { FastifyReply, FastifyRequest } from "fastify";
import { HealthQuery, InitBody, UnsealBody } from "../../api/sys-seal.js";
import { viewOf } from "../../core/encoding.js";
import { badInput } from "../../core/errors.js";
import type { Services } from "../../services/index.js";
import { conditionViews } from "../../services/node/node-condition.js";
import { RESTORE_PENDING, type SealStatus } from "../../services/seal/seal.js";
import { VERSION } from "../../version.js";
import { errorSchema } from "../error-schema.js";
import type { RequestOf, RouteApp } from "../route-types.js";
import { vaultWrite } from "../vault-write.js";

/** Vault's seal endpoints: init, unseal, seal, seal-status, health. Field names and statuses as Vault's. */

/** `problems` or `warnings`: node conditions (node-condition.ts). */
function conditionList(description: string) {
  return {
    type: "array",
    description,
    items: {
      type: "object",
      properties: {
        cause: { type: "string", description: "a short stable name, such as storage_write" },
        message: { type: "string" },
        since: { type: "string", description: "when it began (ISO 8601)" },
      },
    },
  } as const;
}

const sealStatusSchema = {
  type: "object",
  properties: {
    type: { type: "string" },
    initialized: { type: "boolean" },
    sealed: { type: "boolean" },
    t: { type: "integer", description: "shares needed to unseal (threshold)" },
    n: { type: "integer", description: "shares in all" },
    progress: { type: "integer", description: "distinct shares given so far" },
    nonce: { type: "string" },
    version: { type: "string" },
    build_date: { type: "string" },
    migration: { type: "boolean" },
    recovery_seal: { type: "boolean" },
    storage_type: { type: "string" },
    cluster_name: { type: "string" },
    cluster_id: { type: "string" },
    restore_pending: {
      type: "object",
      properties: { backup_created_at: { type: "string" }, message: { type: "string" } },
      description:
        "breakglass's own, only while a restore waits: the next unseal, with the shares of the backup, applies it",
    },
    custody_warning: {
      type: ["string", "null"],
      description:
        "breakglass's own: the bus-factor warning, when too few custodians proved their share lately",
    },
    problems: conditionList(
      "breakglass's own: what keeps this node from serving (health answers 503 while any)",
    ),
    warnings: conditionList("breakglass's own: conditions worth a look that do not stop the node serving"),
  },
} as const;

/** Vault's answer to recovery parameters on a Shamir seal, naming those given (not zero, not empty). */
function refuseRecoveryParameters(body: InitBody): void {
  const given = [
    body.recovery_shares ? "recovery_shares" : null,
    body.recovery_threshold ? "recovery_threshold" : null,
    body.recovery_pgp_keys?.length ? "recovery_pgp_keys" : null,
  ].filter((name) => name !== null);
  if (given.length > 0) throw badInput(`parameters ${given.join(",")} not applicable to seal type shamir`);
}

export function sysSealRoutes(app: RouteApp, services: Services): void {
  const { seal, nodeCondition } = services;
  const conditions = () => ({
    problems: conditionViews(nodeCondition, "blocking"),
    warnings: conditionViews(nodeCondition, "warning"),
  });
  const sealStatusBody = (status: SealStatus) => ({
    type: "shamir",
    initialized: status.initialized,
    sealed: status.sealed,
    t: status.threshold,
    n: status.shares,
    progress: status.progress,
    nonce: status.nonce,
    version: VERSION,
    build_date: "",
    migration: false,
    recovery_seal: false,
    storage_type: services.store.engine,
    ...(status.sealed || !status.clusterId
      ? {}
      : { cluster_name: "breakglass", cluster_id: status.clusterId }),
    ...(status.restorePendingFrom === null
      ? {}
      : {
          restore_pending: {
            backup_created_at: status.restorePendingFrom,
            message: RESTORE_PENDING,
          },
        }),
  });

  app.get(
    "/v1/sys/init",
    {
      config: { sealedOk: true },
      schema: {
        summary: "Whether the vault has been initialised",
        tags: ["sys"],
        response: { 200: { type: "object", properties: { initialized: { type: "boolean" } } } },
      },
    },
    async () => ({ initialized: (await seal.status()).initialized }),
  );

  const initHandler = {
    config: { sealedOk: true, vaultShaped: true, rateLimited: "ceremonies" as const },
    schema: {
      summary:
        "Initialise: create the root key, split it into shares, return the shares and a root token once",
      tags: ["sys"],
      body: InitBody,
      response: {
        200: {
          type: "object",
          properties: {
            keys: {
              type: "array",
              items: { type: "string" },
              description: "shares, hex (encrypted when pgp_keys were given)",
            },
            keys_base64: { type: "array", items: { type: "string" } },
            root_token: { type: "string" },
            custodians: {
              type: "array",
              items: { type: "string" },
              description: "who holds each share, in order",
            },
          },
        },
        400: errorSchema,
      },
    },
  };
  const initialize = async (request: RequestOf<{ body: typeof InitBody }>) => {
    const { body } = request;
    refuseRecoveryParameters(body);
    const result = await seal.initialize(
      {
        secretShares: body.secret_shares,
        secretThreshold: body.secret_threshold,
        pgpKeys: body.pgp_keys,
        rootTokenPgpKey: body.root_token_pgp_key,
        custodians: body.custodians,
      },
      request.ctx,
    );
    return {
      ...shareKeysBody(result.shares),
      root_token: result.rootToken,
      custodians: result.custodians,
    };
  };
  vaultWrite(app, "/v1/sys/init", initHandler, initialize);

  const unsealHandler = {
    config: { sealedOk: true, vaultShaped: true, rateLimited: "shares" as const },
    schema: {
      summary:
        "Give one unseal share (hex or base64); unseals once the threshold of distinct shares is reached",
      tags: ["sys"],
      body: UnsealBody,
      response: { 200: sealStatusSchema, 400: errorSchema },
    },
  };
  const unseal = async (request: RequestOf<{ body: typeof UnsealBody }>) => {
    const body = request.body ?? {};
    return sealStatusBody(await seal.submitShare({ key: body.key, reset: body.reset }, request.ctx));
  };
  vaultWrite(app, "/v1/sys/unseal", unsealHandler, unseal);

  const sealHandler = {
    config: { action: "sys.seal" as const },
    schema: {
      summary: "Seal: drop every key from memory (root token)",
      tags: ["sys"],
      response: { 204: { type: "null" } },
    },
  };
  const sealNow = async (request: FastifyRequest, reply: FastifyReply) => {
    await seal.seal(request.ctx);
    return reply.code(204).send();
  };
  vaultWrite(app, "/v1/sys/seal", sealHandler, sealNow);

  app.get(
    "/v1/sys/seal-status",
    {
      config: { sealedOk: true },
      schema: {
        summary: "Seal status and unseal progress",
        tags: ["sys"],
        response: { 200: sealStatusSchema },
      },
    },
    async () => {
      const status = await seal.status();
      return {
        ...sealStatusBody(status),
        // Custodians come back with the rest of a backup: until then there are none to warn about.
        custody_warning:
          status.restorePendingFrom === null
            ? ((await services.custodians.busFactor())?.warning ?? null)
            : null,
        ...conditions(),
      };
    },
  );

  app.route({
    method: ["GET", "HEAD"],
    url: "/v1/sys/health",
    config: { sealedOk: true },
    schema: {
      summary:
        "Health, with Vault's status codes: 200 active, 501 not initialised, 503 sealed, database lost or a problem listed (overridable by query)",
      tags: ["sys"],
      querystring: HealthQuery,
    },
    handler: async (request, reply) => {
      const { query } = request;
      const status = await seal.health();
      await services.clock.check(); // at most once a second: a load balancer's polling costs nothing more
      const { problems, warnings } = conditions();
      // A node that cannot reach its database, or cannot serve (problems), answers as sealed would:
      // take it out of the pool.
      const code =
        !status.storageReachable || problems.length > 0
          ? (query.sealedcode ?? 503)
          : !status.initialized
            ? (query.uninitcode ?? 501)
            : status.sealed
              ? (query.sealedcode ?? 503)
              : (query.activecode ?? 200);
      // As Vault: a sealed node is a standby whose replication state is not known yet.
      const replicationMode = status.sealed ? "unknown" : "disabled";
      return reply.code(code).send({
        initialized: status.initialized,
        sealed: status.sealed,
        standby: status.sealed,
        performance_standby: false,
        replication_performance_mode: replicationMode,
        replication_dr_mode: replicationMode,
        enterprise: false,
        server_time_utc: Math.floor(services.clock.now() / 1000),
        storage_reachable: status.storageReachable,
        problems,
        warnings,
        version: VERSION,
        ...(status.clusterId && !status.sealed
          ? { cluster_name: "breakglass", cluster_id: status.clusterId }
          : {}),
      });
    },
  });
}

/** Vault's `keys` and `keys_base64` for shares handed out once; the raw bytes are overwritten after. */
export function shareKeysBody(shares: Uint8Array[]): { keys: string[]; keys_base64: string[] } {
  const body = {
    keys: shares.map((share) => viewOf(share).toString("hex")),
    keys_base64: shares.map((share) => viewOf(share).toString("base64")),
  };
  for (const share of shares) share.fill(0);
  return body;
}
