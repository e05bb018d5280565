import { type Static, Type } from "typebox";

/** Vault's seal endpoints: sys/init, sys/unseal, sys/health. */

export const PGP_KEY = Type.String({ maxLength: 200000 });

/** breakglass's own: who receives each share, so drills and ceremonies can name them. */
export const custodiansField = Type.Array(Type.String({ minLength: 1, maxLength: 200, "x-text": "line" }), {
  maxItems: 255,
  description: "one custodian name per share, in order (default: the PGP key's user ID, else 'custodian N')",
});

export const InitBody = Type.Object({
  secret_shares: Type.Integer({
    minimum: 1,
    maximum: 255,
    description: "number of shares to split the root key into",
  }),
  secret_threshold: Type.Integer({ minimum: 1, maximum: 255, description: "shares needed to unseal" }),
  pgp_keys: Type.Optional(
    Type.Array(PGP_KEY, {
      maxItems: 255,
      description:
        "one OpenPGP public key per share (base64 of a binary key, or armored): each share is returned encrypted to it",
    }),
  ),
  root_token_pgp_key: Type.Optional(
    Type.String({ maxLength: 200000, description: "an OpenPGP public key to encrypt the root token to" }),
  ),
  custodians: Type.Optional(custodiansField),
  stored_shares: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 255,
      description: "ignored, as by Vault's Shamir seal: no share is ever stored",
    }),
  ),
  // Vault's auto-unseal parameters: taken so that a zero or null one reads as absent, refused otherwise.
  recovery_shares: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  recovery_threshold: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  recovery_pgp_keys: Type.Optional(Type.Array(PGP_KEY, { maxItems: 255 })),
});
export type InitBody = Static<typeof InitBody>;

export const UnsealBody = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 1024, description: "one share, hex or base64" })),
  reset: Type.Optional(Type.Boolean({ description: "forget the shares given so far" })),
  migrate: Type.Optional(Type.Boolean()),
});
export type UnsealBody = Static<typeof UnsealBody>;

/** A status health may be asked to answer with: a final one (a 1xx would leave the client waiting for one). */
const healthStatus = Type.Integer({ minimum: 200, maximum: 599 });

export const HealthQuery = Type.Object({
  standbyok: Type.Optional(Type.Boolean()),
  perfstandbyok: Type.Optional(Type.Boolean()),
  activecode: Type.Optional(healthStatus),
  standbycode: Type.Optional(healthStatus),
  sealedcode: Type.Optional(healthStatus),
  uninitcode: Type.Optional(healthStatus),
});
export type HealthQuery = Static<typeof HealthQuery>;
