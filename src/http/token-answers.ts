import { durationSeconds } from "../core/durations.js";
import type { DescribedToken } from "../services/auth/tokens.js";

/** What the token endpoints take and answer, shared by the routes of auth/token/*. */

export const tokenLookupSchema = {
  type: "object",
  properties: {
    data: {
      type: "object",
      properties: {
        accessor: { type: "string" },
        creation_time: { type: "integer" },
        creation_ttl: { type: "integer" },
        display_name: { type: "string" },
        entity_id: { type: "string" },
        expire_time: { type: ["string", "null"] },
        explicit_max_ttl: { type: "integer" },
        issue_time: {
          type: "string",
          description: "absent for a token that does not expire (Vault: no lease)",
        },
        last_renewal: { type: "string" },
        last_renewal_time: { type: "integer" },
        meta: { type: ["object", "null"], additionalProperties: { type: "string" } },
        num_uses: { type: "integer" },
        orphan: { type: "boolean" },
        owner: {
          type: "string",
          description:
            "who answers for the token: user:NAME, or token:ACCESSOR of the root token whose line it is",
        },
        path: { type: "string" },
        policies: { type: "array", items: { type: "string" } },
        renewable: {
          type: "boolean",
          description: "absent for a token that does not expire (Vault: no lease)",
        },
        ttl: { type: "integer" },
        type: { type: "string" },
      },
    },
  },
} as const;

const unixSeconds = (time: string) => Math.floor(Date.parse(time) / 1000);

/**
 * Vault's lookup answer for a token, with who answers for it, and never the token itself (`id`).
 * A token that does not expire has no lease in Vault: no `issue_time`, no `renewable`.
 */
/** Vault's lookup answer; `now` (the node's clock) gives the ttl left. */
export function tokenLookupData(token: DescribedToken, now: number) {
  return {
    accessor: token.accessor,
    creation_time: unixSeconds(token.createdAt),
    creation_ttl: token.creationTtl,
    display_name: token.displayName,
    entity_id: "",
    expire_time: token.expiresAt,
    explicit_max_ttl: token.explicitMaxTtl,
    ...(token.expiresAt !== null && { issue_time: token.createdAt, renewable: token.renewable }),
    ...(token.lastRenewalAt !== null && {
      last_renewal: token.lastRenewalAt,
      last_renewal_time: unixSeconds(token.lastRenewalAt),
    }),
    meta: Object.keys(token.meta).length > 0 ? token.meta : null,
    num_uses: 0,
    orphan: token.parentAccessor === null,
    owner: token.owner,
    path: token.path,
    policies: token.policies,
    ttl: token.expiresAt ? Math.max(0, Math.round((Date.parse(token.expiresAt) - now) / 1000)) : 0,
    type: "service",
  };
}

/** A token endpoint's duration: as Vault's fields (durationSeconds), an empty one meaning not given. */
export const tokenDuration = (value: string | number | undefined): number | undefined =>
  durationSeconds(value === "" ? undefined : value);
