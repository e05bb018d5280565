import { type Static, Type } from "typebox";
import { secondsOrText } from "./fields.js";

/** Sign-in with an OpenID provider, in the shape of Vault's JWT/OIDC auth method at auth/oidc/. */

const names = Type.Array(Type.String({ minLength: 1, maxLength: 256, "x-text": "line" }), { maxItems: 64 });

export const OidcConfigBody = Type.Object({
  oidc_discovery_url: Type.String({
    minLength: 1,
    maxLength: 2048,
    "x-text": "line",
    description: "the provider's issuer URL; https, or http on a loopback address only",
  }),
  oidc_client_id: Type.String({ minLength: 1, maxLength: 256, "x-text": "line" }),
  oidc_client_secret: Type.Optional(
    Type.String({
      maxLength: 1024,
      description: "kept sealed, never shown again; absent for a public client",
    }),
  ),
  default_role: Type.Optional(Type.String({ maxLength: 64 })),
});
export type OidcConfigBody = Static<typeof OidcConfigBody>;

export const OidcRoleParams = Type.Object({ name: Type.String({ maxLength: 64, "x-text": "line" }) });
export type OidcRoleParams = Static<typeof OidcRoleParams>;

/** A role: which sign-ins it takes and what they become. Stored whole; read back as written. */
export const OidcRoleBody = Type.Object({
  role_type: Type.Optional(
    Type.Literal("oidc", { description: "only oidc (Vault's jwt roles are not offered)" }),
  ),
  user_claim: Type.String({
    minLength: 1,
    maxLength: 128,
    "x-text": "line",
    description: "the ID token claim whose value is the person's username (e.g. preferred_username, sub)",
  }),
  groups_claim: Type.Optional(
    Type.String({ maxLength: 128, "x-text": "line", description: "the claim listing the provider's groups" }),
  ),
  bound_audiences: Type.Optional(names),
  allowed_redirect_uris: Type.Array(Type.String({ minLength: 1, maxLength: 2048, "x-text": "line" }), {
    minItems: 1,
    maxItems: 32,
    description: "where the provider may send the browser back; loopback ones match any port (RFC 8252)",
  }),
  oidc_scopes: Type.Optional(names),
  token_ttl: Type.Optional(
    secondsOrText(["integer", "string"], { description: "seconds, or 15m, 1h; default 1h, at most 24h" }),
  ),
  token_policies: Type.Optional(
    Type.Array(Type.String({ maxLength: 64 }), {
      maxItems: 64,
      description: "the roles of a person this role creates (default: none beyond default)",
    }),
  ),
  create_users: Type.Optional(
    Type.Boolean({ description: "create the person at their first sign-in (default: only existing people)" }),
  ),
  group_mappings: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.String({ minLength: 1, maxLength: 64 }), {
      description:
        "provider group → breakglass group: at each sign-in and renewal the person is made a member of exactly the mapped groups their provider groups name",
    }),
  ),
});
export type OidcRoleBody = Static<typeof OidcRoleBody>;

export const AuthUrlBody = Type.Object({
  role: Type.Optional(Type.String({ maxLength: 64 })),
  redirect_uri: Type.String({ minLength: 1, maxLength: 2048, "x-text": "line" }),
  client_nonce: Type.Optional(
    Type.String({
      maxLength: 256,
      description: "repeated at the callback: binds the sign-in to its starter",
    }),
  ),
});
export type AuthUrlBody = Static<typeof AuthUrlBody>;

/** What the provider sends the browser back with (Vault's callback takes state, code and client_nonce). */
const providerAnswer = {
  state: Type.String({ maxLength: 256 }),
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  iss: Type.Optional(
    Type.String({
      maxLength: 2048,
      "x-text": "line",
      description: "the provider's issuer, as it sent the browser back",
    }),
  ),
  error: Type.Optional(Type.String({ maxLength: 256, "x-text": "line" })),
  error_description: Type.Optional(Type.String({ maxLength: 1024, "x-text": "line" })),
};

export const CallbackQuery = Type.Object({
  ...providerAnswer,
  client_nonce: Type.Optional(Type.String({ maxLength: 256 })),
});
export type CallbackQuery = Static<typeof CallbackQuery>;

/** The web UI's end of a sign-in: what the provider sent the browser back with, and the page's client_nonce. */
export const OidcSessionBody = Type.Object({
  ...providerAnswer,
  client_nonce: Type.String({
    minLength: 16,
    maxLength: 256,
    description: "the one this page gave auth_url",
  }),
});
export type OidcSessionBody = Static<typeof OidcSessionBody>;
