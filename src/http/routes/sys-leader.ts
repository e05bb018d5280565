import type { FastifyInstance, FastifyReply } from "fastify";
import { vaultWrite } from "../vault-write.js";

/**
 * Vault's HA endpoints, answered as Vault answers them without HA: breakglass has no leader
 * election (nodes share PostgreSQL, and whichever node answers serves the request as the active
 * one), so there is no leader to name and nothing to step down from.
 */

/** Go's zero time, which Vault sends as `active_time` when it has no HA. */
const NO_ACTIVE_TIME = "0001-01-01T00:00:00Z";

export function sysLeaderRoutes(app: FastifyInstance): void {
  app.get(
    "/v1/sys/leader",
    {
      // Vault answers it sealed too: its CLI's `status` reads it after seal-status.
      config: { sealedOk: true },
      schema: {
        summary: "HA status, as Vault without HA: every node serves as the active one",
        tags: ["sys"],
        response: {
          200: {
            type: "object",
            properties: {
              ha_enabled: { type: "boolean", description: "always false: no leader election" },
              is_self: { type: "boolean" },
              active_time: { type: "string" },
              leader_address: { type: "string" },
              leader_cluster_address: { type: "string" },
              performance_standby: { type: "boolean" },
              performance_standby_last_remote_wal: { type: "integer" },
            },
          },
        },
      },
    },
    async () => ({
      ha_enabled: false,
      is_self: false,
      active_time: NO_ACTIVE_TIME,
      leader_address: "",
      leader_cluster_address: "",
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    }),
  );

  vaultWrite(
    app,
    "/v1/sys/step-down",
    {
      // Who may seal may step down, as Vault asks the same sudo of both.
      config: { action: "sys.step-down" },
      schema: {
        summary: "Step down: nothing to do without HA (204, as Vault answers without HA)",
        tags: ["sys"],
        response: { 204: { type: "null" } },
      },
    },
    async (_request, reply: FastifyReply) => reply.code(204).send(),
  );
}
