import { CoverageQuery, DueSchema } from "../../api/devices.js";
import { COVERAGE_FLAGS, type CoverageFactor } from "../../core/coverage.js";
import { DEVICE_STATUSES, parseWindowDays } from "../../core/devices.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { dueBody } from "./devices.js";

/** The coverage report: each protected account, its factors, and what could lock it out. */

const factorSchema = {
  type: "object",
  properties: {
    kind: { type: "string", description: "a device kind, or virtual-mfa for the seed breakglass holds" },
    device_id: { type: ["string", "null"] },
    label: { type: "string" },
    serial: { type: ["string", "null"] },
    location: { type: "string", description: "breakglass for the virtual MFA" },
    status: { type: "string", enum: [...DEVICE_STATUSES, "in-breakglass"] },
    due: DueSchema,
    usable: { type: "boolean", description: "false for a lost device: listed, but not counted" },
  },
} as const;

const accountSchema = {
  type: "object",
  properties: {
    account: { type: "string", description: "its first credential's name, or the name devices give" },
    credential: { type: ["string", "null"], description: "its first breakglass credential, if it has one" },
    credentials: {
      type: "array",
      items: { type: "string" },
      description: "every breakglass credential of this issuer and account name (one factor each)",
    },
    issuer: { type: ["string", "null"] },
    account_name: { type: ["string", "null"] },
    factors: { type: "array", items: factorSchema },
    flags: {
      type: "array",
      items: {
        type: "object",
        properties: { flag: { type: "string", enum: [...COVERAGE_FLAGS] }, text: { type: "string" } },
      },
    },
  },
} as const;

export function coverageRoutes(app: RouteApp, { coverage }: Services): void {
  app.get(
    "/v1/coverage",
    {
      config: { action: "devices.coverage" },
      schema: {
        summary:
          "Every protected account with its factors, flagged single-factor, one-location, all-due or no-factor",
        tags: ["devices"],
        querystring: CoverageQuery,
        response: {
          200: dataEnvelope({
            due_within_days: { type: "integer" },
            flagged: { type: "integer", description: "accounts with at least one flag" },
            accounts: { type: "array", items: accountSchema },
          }),
          400: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      const { due_within } = request.query;
      const report = await coverage.report(parseWindowDays(due_within ?? "30d"), request.ctx);
      return {
        data: {
          due_within_days: report.windowDays,
          flagged: report.flagged,
          accounts: report.accounts.map((account) => ({
            account: account.account,
            credential: account.credentials[0]?.name ?? null,
            credentials: account.credentials.map((credential) => credential.name),
            issuer: account.credentials[0]?.issuer ?? null,
            account_name: account.credentials[0]?.accountName ?? null,
            factors: account.factors.map(factorBody),
            flags: account.flags,
          })),
        },
      };
    },
  );
}

function factorBody(factor: CoverageFactor) {
  return {
    kind: factor.kind,
    device_id: factor.deviceId,
    label: factor.label,
    serial: factor.serial,
    location: factor.location,
    status: factor.status,
    due: dueBody(factor.due),
    usable: factor.usable,
  };
}
