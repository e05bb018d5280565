import { listQuery } from "../../api/fields.js";
import {
  CreateKeyBody,
  GoogleImportBody,
  ImportAnswer,
  KeyMetadataAnswer,
  KeyNameParams,
} from "../../api/totp.js";
import { durationSeconds } from "../../core/durations.js";
import type { Services } from "../../services/index.js";
import type { KeyMetadata } from "../../services/totp/totp.js";
import { errorSchema } from "../error-schema.js";
import type { RouteApp } from "../route-types.js";
import { dataEnvelope, listReply, listResponses } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** Vault's TOTP engine, key management: totp/keys/:name. A seed goes in and never comes back out. */

export function totpKeyRoutes(app: RouteApp, services: Services): void {
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
        params: KeyNameParams,
        body: CreateKeyBody,
        response: {
          200: dataEnvelope({ url: { type: "string" }, barcode: { type: "string" } }),
          204: { type: "null" },
          400: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const body = request.body ?? {};
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
        body: GoogleImportBody,
        response: {
          200: dataEnvelope(ImportAnswer.properties),
          400: errorSchema,
        },
      },
    },
    async (request) => {
      const body = request.body ?? {};
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
        params: KeyNameParams,
        response: { 200: dataEnvelope(KeyMetadataAnswer.properties), 404: errorSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
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
        querystring: listQuery,
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
        params: KeyNameParams,
        response: { 204: { type: "null" } },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await totp.deleteKey(name, request.ctx);
      return reply.code(204).send();
    },
  );
}

function metadataBody(key: KeyMetadata): KeyMetadataAnswer {
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
