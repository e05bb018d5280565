import { CodeQuery, KeyNameParams, ValidateCodeBody } from "../../api/totp.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import { reasonOf } from "../request-context.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, withWarnings } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";
import { stepUpHeaderOf } from "./auth-passkey.js";

/** Vault's TOTP engine, codes: totp/code/:name. A code leaves only after its audit entry is committed. */
export function totpCodeRoutes(app: RouteApp, services: Services): void {
  const { totp } = services;

  app.get(
    "/v1/totp/code/:name",
    {
      config: { action: "totp.code.read" },
      schema: {
        summary:
          "The current code, its step and the end of its validity; with enroll=true also the next code. Under a rule with step_up, the X-Breakglass-Step-Up header carries a passkey assertion bound to this read (docs/passkeys.md)",
        tags: ["totp"],
        params: KeyNameParams,
        querystring: CodeQuery,
        response: {
          200: withWarnings({
            code: { type: "string" },
            period: { type: "integer" },
            digits: { type: "integer" },
            algorithm: { type: "string" },
            step: { type: "integer", description: "the time step the code belongs to" },
            valid_from: { type: "integer", description: "unix seconds" },
            expires_at: { type: "integer", description: "unix seconds: the end of the step" },
            ttl: { type: "integer", description: "seconds left, by the server's clock" },
            server_time: {
              type: "integer",
              description:
                "milliseconds since the epoch when the code was computed, to correct a client's clock",
            },
            next_code: { type: "string" },
          }),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const query = request.query;
      const released = await totp.releaseCode(
        name,
        {
          reason: reasonOf(request, query.reason),
          enroll: query.enroll === true,
          approvalId: query.approval ?? null,
          stepUp: stepUpHeaderOf(request, services),
        },
        request.ctx,
      );
      const now = services.clock.now(); // the code was computed just now: after its audit entry was committed
      void services.clock.check(); // at most once a second, not awaited: this answer says the last finding
      const clockWarning = services.clock.warning();
      return {
        ...(clockWarning ? { warnings: [clockWarning] } : {}),
        data: {
          code: released.code,
          period: released.period,
          digits: released.digits,
          algorithm: released.algorithm,
          step: released.step,
          valid_from: released.validFrom,
          expires_at: released.expiresAt,
          ttl: Math.max(0, released.expiresAt - Math.floor(now / 1000)),
          server_time: now,
          ...(released.nextCode ? { next_code: released.nextCode } : {}),
        },
      };
    },
  );

  vaultWrite(
    app,
    "/v1/totp/code/:name",
    {
      config: {
        action: "totp.code.validate",
        rateLimited: "code_validation",
        vaultShaped: true,
      },
      schema: {
        summary: "Validate a code; each code is accepted once",
        tags: ["totp"],
        params: KeyNameParams,
        body: ValidateCodeBody,
        response: { 200: dataEnvelope({ valid: { type: "boolean" } }), 400: errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { code } = request.body;
      return { data: { valid: await totp.validateCode(name, code, request.ctx) } };
    },
  );
}
