import type { FastifyInstance } from "fastify";
import type { Services } from "../../services/index.js";
import type { KeyMetadata } from "../../services/totp/totp.js";
import { MAX_QR_IMAGE_BASE64 } from "../body-limits.js";
import { durationSeconds } from "../durations.js";
import { dataEnvelope, errorSchema, keyNameParams, listReply, listResponses } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Vault's TOTP engine, key management: totp/keys/:name. A seed goes in and never comes back out. */

const keyMetadataProperties = {
  name: { type: "string" },
  issuer: { type: "string" },
  account_name: { type: "string" },
  algorithm: { type: "string" },
  digits: { type: "integer" },
  period: { type: "integer" },
  skew: { type: "integer" },
  generated: { type: "boolean" },
  created_at: { type: "string" },
  created_by: { type: "string" },
};

export function totpKeyRoutes(app: FastifyInstance, services: Services): void {
  const { totp } = services;

  vaultWrite(
    app,
    "/v1/totp/keys/:name",
    {
      config: { action: "totp.key.write", vaultShaped: true },
      schema: {
        summary:
          "Create a key: import (url, key, qr_image) or generate a seed inside (returned once, as url and barcode)",
        tags: ["totp"],
        params: keyNameParams,
        body: {
          type: "object",
          properties: {
            generate: { type: "boolean", description: "make the seed here" },
            exported: {
              type: "boolean",
              description: "with generate: return url and barcode this once (default true)",
            },
            key_size: { type: "integer", description: "with generate: seed bytes (default 20)" },
            qr_size: {
              type: "integer",
              minimum: 0,
              maximum: 2000,
              description: "barcode pixels; 0 for none",
            },
            url: { type: "string", maxLength: 4096, description: "an otpauth://totp/ URI" },
            key: { type: "string", maxLength: 1024, description: "the seed, base32" },
            qr_image: {
              type: "string",
              maxLength: MAX_QR_IMAGE_BASE64,
              description: "a PNG or JPEG showing the QR code, base64",
            },
            issuer: { type: "string", maxLength: 256, "x-text": "line" },
            account_name: { type: "string", maxLength: 256, "x-text": "line" },
            algorithm: { type: "string", maxLength: 16, description: "SHA1, SHA256 or SHA512" },
            digits: { type: "integer", description: "6 or 8" },
            period: {
              type: ["integer", "string"],
              maxLength: 16,
              description: "seconds per code, or a duration as Vault takes it: 30s, 1m",
            },
            skew: { type: "integer", description: "steps accepted either side when validating: 0 or 1" },
          },
        },
        response: {
          200: dataEnvelope({ url: { type: "string" }, barcode: { type: "string" } }),
          204: { type: "null" },
          400: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const body = (request.body ?? {}) as Record<string, never>;
      const enrolment = await totp.createKey(
        name,
        {
          generate: body.generate,
          exported: body.exported,
          keySize: body.key_size,
          qrSize: body.qr_size,
          url: body.url,
          key: body.key,
          qrImage: body.qr_image,
          issuer: body.issuer,
          accountName: body.account_name,
          algorithm: body.algorithm,
          digits: body.digits,
          period: durationSeconds(body.period),
          skew: body.skew,
        },
        request.ctx,
      );
      if (!enrolment) return reply.code(204).send();
      return { data: enrolment };
    },
  );

  vaultWrite(
    app,
    "/v1/totp/import/google-authenticator",
    {
      config: { action: "totp.key.write", vaultShaped: true },
      schema: {
        summary:
          "Import every account of a Google Authenticator export (otpauth-migration:// URI or its QR image)",
        tags: ["totp"],
        body: {
          type: "object",
          properties: {
            url: { type: "string", maxLength: 65536 },
            qr_image: { type: "string", maxLength: MAX_QR_IMAGE_BASE64 },
            prefix: { type: "string", maxLength: 64, description: "put before every key name" },
          },
        },
        response: {
          200: dataEnvelope({
            imported: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  name: { type: "string" },
                  issuer: { type: "string" },
                  account_name: { type: "string" },
                },
              },
            },
            skipped: {
              type: "array",
              items: { type: "object", properties: { label: { type: "string" }, why: { type: "string" } } },
            },
          }),
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const body = (request.body ?? {}) as { url?: string; qr_image?: string; prefix?: string };
      const summary = await totp.importGoogleAuthenticator(
        { url: body.url, qrImage: body.qr_image, prefix: body.prefix },
        request.ctx,
      );
      return {
        data: {
          imported: summary.imported.map((k) => ({
            name: k.name,
            issuer: k.issuer,
            account_name: k.accountName,
          })),
          skipped: summary.skipped,
        },
      };
    },
  );

  app.get(
    "/v1/totp/keys/:name",
    {
      config: { action: "totp.key.read" },
      schema: {
        summary: "A key's metadata (never its seed)",
        tags: ["totp"],
        params: keyNameParams,
        response: { 200: dataEnvelope(keyMetadataProperties), 404: errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      return { data: metadataBody(await totp.readKey(name, request.ctx)) };
    },
  );

  app.get(
    "/v1/totp/keys",
    {
      config: { action: "totp.key.list" },
      schema: {
        summary: "List key names (Vault's LIST, as GET ?list=true); 404 when there are none, as Vault",
        tags: ["totp"],
        // Any value: Vault reads list=true, list=1, list=t alike, and this path only lists.
        querystring: { type: "object", properties: { list: { type: "string" } } },
        response: listResponses,
      },
    },
    async (request, reply) => {
      return listReply(reply, await totp.listKeys(request.ctx));
    },
  );

  app.delete(
    "/v1/totp/keys/:name",
    {
      config: { action: "totp.key.delete" },
      schema: {
        summary: "Delete a key (its seed is gone for good)",
        tags: ["totp"],
        params: keyNameParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      await totp.deleteKey(name, request.ctx);
      return reply.code(204).send();
    },
  );
}

function metadataBody(key: KeyMetadata) {
  return {
    name: key.name,
    issuer: key.issuer,
    account_name: key.accountName,
    algorithm: key.algorithm,
    digits: key.digits,
    period: key.period,
    skew: key.skew,
    generated: key.generated,
    created_at: key.createdAt,
    created_by: key.createdBy,
  };
}
