import type { FastifyReply } from "fastify";
import type { TokenRecord } from "../store/store.js";
import { errorSchema } from "./error-schema.js";
import { sendError } from "./errors.js";
import { presentedCredential } from "./request-context.js";

/** JSON schemas shared by several routes. */

export const keyNameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", maxLength: 128, "x-text": "line", description: "the key's name" } },
} as const;

/** Wraps a data schema in Vault's response envelope. */
export function dataEnvelope(properties: Record<string, unknown>) {
  return { type: "object", properties: { data: { type: "object", properties } } } as const;
}

/** A `data` envelope with Vault's `warnings`: things a person must hear with the answer (a wrong clock). */
export function withWarnings(properties: Record<string, unknown>) {
  const envelope = dataEnvelope(properties);
  return {
    ...envelope,
    properties: { ...envelope.properties, warnings: { type: "array", items: { type: "string" } } },
  } as const;
}

/** Vault's `{"auth": …}` answer when a token is issued (token/create, userpass login). */
export const tokenAuthSchema = {
  type: "object",
  properties: {
    auth: {
      type: "object",
      properties: {
        client_token: { type: "string" },
        accessor: { type: "string" },
        policies: { type: "array", items: { type: "string" } },
        token_policies: { type: "array", items: { type: "string" } },
        metadata: { type: "object", additionalProperties: { type: "string" } },
        lease_duration: { type: "integer" },
        renewable: { type: "boolean" },
        entity_id: { type: "string" },
        token_type: { type: "string" },
        orphan: { type: "boolean" },
      },
    },
  },
} as const;

/** The body for a token just issued; the lease is the lifetime it was issued with. */
export function tokenAuthBody(token: string, record: Omit<TokenRecord, "tokenHmac">) {
  return { auth: { client_token: token, ...tokenAuthFields(record) } };
}

/**
 * Vault's `auth` fields of a token, without the token itself (a renewal's answer): the lease runs
 * from its creation, or from its last renewal.
 */
export function tokenAuthFields(record: Omit<TokenRecord, "tokenHmac">) {
  return {
    accessor: record.accessor,
    policies: record.policies,
    token_policies: record.policies,
    metadata: record.meta,
    lease_duration: record.expiresAt
      ? Math.round(
          (Date.parse(record.expiresAt) - Date.parse(record.lastRenewalAt ?? record.createdAt)) / 1000,
        )
      : 0,
    renewable: record.renewable,
    entity_id: "",
    token_type: "service",
    orphan: record.parentAccessor === null,
  };
}

/** Vault's LIST answer: the names, or 404 with an empty error list when there are none. */
export function listReply(reply: FastifyReply, keys: string[]) {
  // The web UI (cookie session) gets an empty list: a 404 would be an error in the browser's console.
  if (keys.length === 0 && !presentedCredential(reply.request).fromCookie)
    return sendError(reply, "NOT_FOUND", []);
  return { data: { keys } };
}

/** The schema of a LIST answer. */
export const listResponses = {
  200: dataEnvelope({ keys: { type: "array", items: { type: "string" } } }),
  404: errorSchema,
} as const;
