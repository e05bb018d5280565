import { DrillBody } from "../../api/custody.js";
import type { BusFactor } from "../../core/custody.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { vaultWrite } from "../vault-write.js";

/** Custodians: who holds each share and the bus factor; drills, which need no token (the share is the credential). */

const busFactorSchema = {
  type: "object",
  properties: {
    verified_recently: { type: "integer" },
    needed: { type: "integer", description: "threshold + 1" },
    window_days: { type: "integer" },
    warning: { type: ["string", "null"] },
  },
} as const;

function busFactorBody(busFactor: BusFactor) {
  return {
    verified_recently: busFactor.verifiedRecently,
    needed: busFactor.needed,
    window_days: busFactor.windowDays,
    warning: busFactor.warning,
  };
}

export function custodianRoutes(app: RouteApp, { custodians }: Services): void {
  app.get(
    "/v1/sys/custodians",
    {
      config: { action: "custodians.read" },
      schema: {
        summary: "Who holds each share, when they last proved it, and the bus factor",
        tags: ["custody"],
        response: {
          200: {
            type: "object",
            properties: {
              threshold: { type: "integer" },
              shares: { type: "integer" },
              bus_factor: busFactorSchema,
              custodians: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    share_index: { type: "integer" },
                    name: { type: "string" },
                    pgp_fingerprint: { type: ["string", "null"] },
                    created_at: { type: "string" },
                    last_verified: { type: ["string", "null"] },
                    verified_recently: { type: "boolean" },
                  },
                },
              },
            },
          },
          403: errorSchema,
        },
      },
    },
    async () => {
      const list = await custodians.list();
      return {
        threshold: list.threshold,
        shares: list.shares,
        bus_factor: busFactorBody(list.busFactor),
        custodians: list.custodians.map((c) => ({
          share_index: c.shareIndex,
          name: c.name,
          pgp_fingerprint: c.pgpFingerprint,
          created_at: c.createdAt,
          last_verified: c.lastVerified,
          verified_recently: c.verifiedRecently,
        })),
      };
    },
  );
  vaultWrite(
    app,
    "/v1/sys/custodians/drill",
    {
      config: { sealedOk: true, rateLimited: "shares" },
      schema: {
        summary:
          "A drill: says whose share this is and records that they hold it; unseals, combines and changes nothing else",
        tags: ["custody"],
        body: DrillBody,
        response: {
          200: {
            type: "object",
            properties: {
              custodian: { type: "string" },
              share_index: { type: "integer" },
              last_verified: { type: "string" },
              bus_factor: busFactorSchema,
            },
          },
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const result = await custodians.drill(request.body.key, request.ctx);
      return {
        custodian: result.custodian,
        share_index: result.shareIndex,
        last_verified: result.lastVerified,
        bus_factor: busFactorBody(result.busFactor),
      };
    },
  );
}
