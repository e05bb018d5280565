import type { FastifyRequest } from "fastify";
import { Check } from "typebox/value";
import {
  PasskeyAssertion,
  PasskeyIdParams,
  PasskeyLoginBeginBody,
  RegisterPasskeyBody,
  RenamePasskeyBody,
  STEP_UP_HEADER,
  StepUpBeginBody,
} from "../../api/passkeys.js";
import { badInput } from "../../core/errors.js";
import type { PasskeyView, RelyingParty } from "../../services/auth/passkeys.js";
import type { StepUpProof } from "../../services/auth/step-up.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Passkeys at auth/passkey/ (docs/passkeys.md): one's own, a login's options, a step-up's. */

/** WebAuthn's options, as @simplewebauthn/server makes them: handed to the browser as they are. */
const optionsAnswer = {
  type: "object",
  properties: { data: { type: "object", additionalProperties: true } },
} as const;

const passkeyProperties = {
  id: { type: "string", description: "the credential id (base64url)" },
  name: { type: "string" },
  created_at: { type: "string" },
  last_used_at: { type: ["string", "null"] },
  backed_up: { type: "boolean", description: "synced by its provider (a multi-device passkey)" },
};

export function authPasskeyRoutes(app: RouteApp, services: Services): void {
  const { passkeys, stepUp } = services;
  const rpOf = (request: FastifyRequest) => (): RelyingParty => relyingPartyOf(request, services);

  vaultWrite(
    app,
    "/v1/auth/passkey/register/begin",
    {
      config: { action: "people.passkey.register" },
      schema: {
        summary:
          "Begin registering a passkey of one's own: the options for navigator.credentials.create (2 minutes)",
        tags: ["people"],
        response: { 200: optionsAnswer, 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => ({ data: await passkeys.registrationOptions(request.ctx, rpOf(request)) }),
  );

  vaultWrite(
    app,
    "/v1/auth/passkey/register/finish",
    {
      config: { action: "people.passkey.register" },
      schema: {
        summary: "Finish registering: the browser's answer is verified and the passkey's public key kept",
        tags: ["people"],
        body: RegisterPasskeyBody,
        response: { 200: dataEnvelope(passkeyProperties), 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => {
      const { credential, name } = request.body;
      const passkey = await passkeys.register(request.ctx, rpOf(request), credential, name);
      return { data: passkeyBody(passkey) };
    },
  );

  app.get(
    "/v1/auth/passkey/credentials",
    {
      config: { action: "people.passkey.read" },
      schema: {
        summary: "One's own passkeys (never their keys)",
        tags: ["people"],
        response: {
          200: {
            type: "object",
            properties: {
              data: {
                type: "object",
                properties: {
                  passkeys: { type: "array", items: { type: "object", properties: passkeyProperties } },
                },
              },
            },
          },
          403: errorSchema,
        },
      },
    },
    async (request) => ({ data: { passkeys: (await passkeys.list(request.ctx)).map(passkeyBody) } }),
  );

  vaultWrite(
    app,
    "/v1/auth/passkey/credentials/:id",
    {
      config: { action: "people.passkey.rename" },
      schema: {
        summary: "Rename one of one's own passkeys",
        tags: ["people"],
        params: PasskeyIdParams,
        body: RenamePasskeyBody,
        response: { 204: { type: "null" }, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      await passkeys.rename(request.ctx, request.params.id, request.body.name);
      return reply.code(204).send();
    },
  );

  app.delete(
    "/v1/auth/passkey/credentials/:id",
    {
      config: { action: "people.passkey.remove" },
      schema: {
        summary: "Remove one of one's own passkeys",
        tags: ["people"],
        params: PasskeyIdParams,
        response: { 204: { type: "null" }, 404: errorSchema },
      },
    },
    async (request, reply) => {
      await passkeys.remove(request.ctx, request.params.id);
      return reply.code(204).send();
    },
  );

  vaultWrite(
    app,
    "/v1/auth/passkey/login/begin",
    {
      config: { rateLimited: "login" },
      schema: {
        summary:
          "The options for a password login's passkey (navigator.credentials.get); the same for every name, so they tell nobody who has a passkey",
        tags: ["people"],
        security: [],
        body: PasskeyLoginBeginBody,
        response: { 200: optionsAnswer, 400: errorSchema, 429: errorSchema },
      },
    },
    async (request) => ({
      data: await passkeys.loginOptions(request.body.username, relyingPartyOf(request, services)),
    }),
  );

  vaultWrite(
    app,
    "/v1/auth/passkey/step-up/begin",
    {
      config: { action: "people.passkey.step-up" },
      schema: {
        summary:
          "Options for a step-up bound to one action and target (a code read, an approval), usable once within 60 seconds",
        tags: ["people"],
        body: StepUpBeginBody,
        response: { 200: optionsAnswer, 400: errorSchema, 403: errorSchema },
      },
    },
    async (request) => {
      const { action, target } = request.body;
      return { data: await stepUp.begin(request.ctx, { action, target }, rpOf(request)) };
    },
  );
}

/** The relying party of this request (the configured origin, else a localhost host). */
export function relyingPartyOf(request: FastifyRequest, services: Services): RelyingParty {
  return services.passkeys.relyingParty(request.headers.host, request.protocol);
}

/** A step-up assertion sent as the X-Breakglass-Step-Up header (base64url JSON); null when none is. */
export function stepUpHeaderOf(request: FastifyRequest, services: Services): StepUpProof | null {
  const header = request.headers[STEP_UP_HEADER];
  if (header === undefined) return null;
  return {
    assertion: assertionOf(Array.isArray(header) ? header.join("") : header, "X-Breakglass-Step-Up"),
    rp: relyingPartyOf(request, services),
  };
}

/** An assertion given as text (base64url of its JSON), checked against its schema. */
export function assertionOf(text: string, field: string): PasskeyAssertion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw badInput(`${field} must be a passkey assertion's JSON, base64url-encoded`);
  }
  if (!Check(PasskeyAssertion, parsed)) throw badInput(`${field} is not a passkey assertion`);
  return parsed;
}

function passkeyBody(passkey: PasskeyView) {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: passkey.createdAt,
    last_used_at: passkey.lastUsedAt,
    backed_up: passkey.backedUp,
  };
}
