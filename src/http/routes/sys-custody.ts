import type { FastifyRequest } from "fastify";
import { GenerateRootBody, RekeyInitBody, SeedExportBody, ShareBody } from "../../api/custody.js";
import type { CeremonyProgress } from "../../services/custody/ceremony.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { vaultWrite } from "../vault-write.js";
import { custodianRoutes } from "./sys-custodians.js";
import { shareKeysBody } from "./sys-seal.js";

/**
 * Custody ceremonies, each a quorum of shares: Vault's rekey and generate-root, breakglass's own
 * seed export. Shares are the credential of the share-taking endpoints, and starting a rekey or a
 * root token generation needs no token, as in Vault (docs/SECURITY.md says why); starting a seed
 * export needs an admin token. Every status says who started the attempt and what it will
 * produce, so that a custodian can check it against what the starter announced before giving a share.
 */

const progressProperties = {
  started: { type: "boolean" },
  nonce: { type: "string" },
  started_by: {
    type: ["object", "null"],
    description:
      "who started the attempt, as the server saw them (actor is anonymous when no valid token came with it)",
    properties: {
      actor: { type: "string" },
      display_name: { type: ["string", "null"] },
      remote_addr: { type: ["string", "null"] },
      user_agent: { type: ["string", "null"] },
      time: { type: "string" },
    },
  },
  progress: { type: "integer", description: "distinct shares given so far" },
  required: { type: "integer", description: "shares needed (the threshold)" },
  complete: { type: "boolean" },
  custodians_given: { type: "array", items: { type: ["string", "null"] } },
  custodians_missing: { type: "array", items: { type: "string" } },
} as const;

function progressBody<P>(progress: CeremonyProgress<P>) {
  const start = progress.startedBy;
  return {
    started: progress.started,
    nonce: progress.nonce,
    started_by: start && {
      actor: start.actor,
      display_name: start.displayName,
      remote_addr: start.remoteAddr,
      user_agent: start.userAgent,
      time: start.at,
    },
    progress: progress.progress,
    required: progress.required,
    complete: false,
    custodians_given: progress.given,
    custodians_missing: progress.missing,
  };
}

/** The routes that start a ceremony: no token needed, but a valid one names the starter. */
const startConfig = { identify: true, vaultShaped: true, rateLimited: "ceremonies" } as const;
/** The routes that take a share towards Vault's ceremonies. */
const shareConfig = { vaultShaped: true, rateLimited: "shares" } as const;

/** GET (progress) and DELETE (cancel) of a ceremony's start path, the same for all three. */
function progressAndCancel(
  app: RouteApp,
  url: string,
  what: string,
  statusSchema: object,
  status: () => Promise<object>,
  ceremony: { cancel(ctx: FastifyRequest["ctx"]): Promise<void> },
): void {
  app.get(
    url,
    {
      schema: {
        summary: `Progress of the ${what} in progress`,
        tags: ["custody"],
        response: { 200: statusSchema },
      },
    },
    () => status(),
  );
  app.delete(
    url,
    {
      config: { rateLimited: "ceremonies" },
      schema: {
        summary: `Cancel the ${what} in progress (anyone may: it is audited)`,
        tags: ["custody"],
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      await ceremony.cancel(request.ctx);
      return reply.code(204).send();
    },
  );
}

export function sysCustodyRoutes(app: RouteApp, services: Services): void {
  rekeyRoutes(app, services);
  generateRootRoutes(app, services);
  seedExportRoutes(app, services);
  custodianRoutes(app, services);
}

/** Vault's `pgp_fingerprints`: null when the shares are not encrypted. */
function fingerprintsOrNull(fingerprints: string[] | undefined): string[] | null {
  return fingerprints && fingerprints.length > 0 ? fingerprints : null;
}

function rekeyRoutes(app: RouteApp, { rekey }: Services): void {
  const statusSchema = {
    type: "object",
    properties: {
      ...progressProperties,
      t: { type: "integer", description: "threshold of the new shares" },
      n: { type: "integer", description: "number of new shares" },
      pgp_fingerprints: {
        type: ["array", "null"],
        items: { type: "string" },
        description: "the PGP keys the new shares will be encrypted to, in order (null: not encrypted)",
      },
      backup: { type: "boolean" },
      verification_required: { type: "boolean" },
      keys: { type: "array", items: { type: "string" } },
      keys_base64: { type: "array", items: { type: "string" } },
      custodians: {
        type: "array",
        items: { type: "string" },
        description: "who will hold the new shares, in order",
      },
    },
  } as const;
  const status = async () => {
    const progress = await rekey.progress();
    return {
      ...progressBody(progress),
      t: progress.params?.spec.secretThreshold ?? 0,
      n: progress.params?.spec.secretShares ?? 0,
      pgp_fingerprints: fingerprintsOrNull(progress.params?.plan.pgpFingerprints),
      custodians: progress.params?.plan.custodians ?? [],
      backup: false,
      verification_required: false,
    };
  };
  progressAndCancel(app, "/v1/sys/rekey/init", "rekey", statusSchema, status, rekey);
  vaultWrite(
    app,
    "/v1/sys/rekey/init",
    {
      config: startConfig,
      schema: {
        summary:
          "Start a rekey: new shares (counts, PGP keys, custodians) once a quorum of the current ones is given",
        tags: ["custody"],
        body: RekeyInitBody,
        response: { 200: statusSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const { body } = request;
      await rekey.start(
        {
          secretShares: body.secret_shares,
          secretThreshold: body.secret_threshold,
          pgpKeys: body.pgp_keys,
          backup: body.backup,
          requireVerification: body.require_verification,
          custodians: body.custodians,
        },
        request.ctx,
      );
      return status();
    },
  );
  vaultWrite(
    app,
    "/v1/sys/rekey/update",
    {
      config: shareConfig,
      schema: {
        summary: "Give one current share; the last one returns the new shares, once",
        tags: ["custody"],
        body: ShareBody,
        response: { 200: statusSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const result = await rekey.update(body.key, body.nonce, request.ctx);
      if (result === null) return status();
      return {
        complete: true,
        nonce: body.nonce,
        ...shareKeysBody(result.shares),
        pgp_fingerprints: fingerprintsOrNull(result.pgpFingerprints),
        custodians: result.custodians,
        backup: false,
        verification_required: false,
      };
    },
  );
}

function generateRootRoutes(app: RouteApp, { generateRoot }: Services): void {
  const statusSchema = {
    type: "object",
    properties: {
      ...progressProperties,
      encoded_token: { type: "string" },
      encoded_root_token: { type: "string" },
      pgp_fingerprint: { type: "string" },
      otp: {
        type: "string",
        description: "the one-time pad, shown once, in the answer that starts the attempt",
      },
      otp_length: { type: "integer" },
    },
  } as const;
  const status = async (extra: Record<string, unknown> = {}) => {
    const progress = await generateRoot.progress();
    return {
      ...progressBody(progress),
      encoded_token: "",
      encoded_root_token: "",
      pgp_fingerprint: progress.params?.pgpFingerprint ?? "",
      otp: "",
      // As Vault: the length an OTP has, whether an attempt uses one or not.
      otp_length: generateRoot.otpLength,
      ...extra,
    };
  };
  progressAndCancel(
    app,
    "/v1/sys/generate-root/attempt",
    "root token generation",
    statusSchema,
    status,
    generateRoot,
  );
  vaultWrite(
    app,
    "/v1/sys/generate-root/attempt",
    {
      config: startConfig,
      schema: {
        summary: "Start a root token generation: the answer carries the one-time pad (otp), once",
        tags: ["custody"],
        body: GenerateRootBody,
        response: { 200: statusSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const attempt = await generateRoot.start({ pgpKey: body.pgp_key, otp: body.otp }, request.ctx);
      return status({ otp: attempt.otp ?? "" });
    },
  );
  vaultWrite(
    app,
    "/v1/sys/generate-root/update",
    {
      config: shareConfig,
      schema: {
        summary: "Give one share; the last one returns the new root token, encoded with the one-time pad",
        tags: ["custody"],
        body: ShareBody,
        response: { 200: statusSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const result = await generateRoot.update(body.key, body.nonce, request.ctx);
      // As Vault, an update answer carries no OTP, not even its length.
      const noOtp = { otp: "", otp_length: 0 };
      if (result === null) return status(noOtp);
      const { required } = await generateRoot.progress();
      return {
        started: true,
        nonce: body.nonce,
        progress: required,
        required,
        complete: true,
        encoded_token: result.encodedToken,
        encoded_root_token: result.encodedToken,
        pgp_fingerprint: result.pgpFingerprint,
        ...noOtp,
      };
    },
  );
}

function seedExportRoutes(app: RouteApp, { seedExport }: Services): void {
  const statusSchema = {
    type: "object",
    properties: {
      ...progressProperties,
      name: { type: "string", description: "the credential whose seed would be exported" },
      pgp_fingerprint: { type: "string", description: "the key the seed would be encrypted to" },
      requested_by: { type: "string" },
      encrypted_seed: {
        type: "string",
        description:
          "an armored OpenPGP message holding the otpauth URI, in the answer to the last share only",
      },
    },
  } as const;
  const status = async () => {
    const progress = await seedExport.progress();
    return {
      ...progressBody(progress),
      name: progress.params?.name ?? "",
      pgp_fingerprint: progress.params?.pgpFingerprint ?? "",
      requested_by: progress.params?.requestedBy ?? "",
    };
  };
  progressAndCancel(app, "/v1/sys/export-seed/attempt", "seed export", statusSchema, status, seedExport);
  vaultWrite(
    app,
    "/v1/sys/export-seed/attempt",
    {
      config: { action: "totp.key.export", rateLimited: "ceremonies" },
      schema: {
        summary:
          "Ask for a credential's seed, encrypted to a PGP key, once a quorum of custodians gives their shares (admin)",
        tags: ["custody"],
        body: SeedExportBody,
        response: { 200: statusSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request) => {
      const { body } = request;
      await seedExport.start({ name: body.name, pgpKey: body.pgp_key }, request.ctx);
      return status();
    },
  );
  vaultWrite(
    app,
    "/v1/sys/export-seed/update",
    {
      config: { rateLimited: "shares" },
      schema: {
        summary: "Give one share; the last one returns the seed as an OpenPGP message to the attempt's key",
        tags: ["custody"],
        body: ShareBody,
        response: { 200: statusSchema, 400: errorSchema },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const message = await seedExport.update(body.key, body.nonce, request.ctx);
      if (message === null) return status();
      return { started: true, nonce: body.nonce, complete: true, encrypted_seed: message };
    },
  );
}
