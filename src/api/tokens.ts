import { type Static, Type } from "typebox";
import { secondsOrText } from "./fields.js";

/** Vault's token endpoints (auth/token/*): what they take. */

/** Vault's duration fields: seconds, or a duration such as 8h. */
export const durationField = (description = "seconds, or a duration such as 90s, 30m, 8h or 7d") =>
  secondsOrText(["string", "integer"], { description });

/** A token given in a body (Vault's lookup, renew, revoke, revoke-orphan): never logged nor stored. */
const tokenField = Type.String({ minLength: 1, maxLength: 200 });
const accessorField = Type.String({ minLength: 1, maxLength: 64 });

export const TokenBody = Type.Object({ token: tokenField });
export type TokenBody = Static<typeof TokenBody>;

export const AccessorBody = Type.Object({ accessor: accessorField });
export type AccessorBody = Static<typeof AccessorBody>;

export const RenewSelfBody = Type.Object({ increment: Type.Optional(durationField()) });
export type RenewSelfBody = Static<typeof RenewSelfBody>;

export const RenewBody = Type.Object({ token: tokenField, increment: Type.Optional(durationField()) });
export type RenewBody = Static<typeof RenewBody>;

export const RenewAccessorBody = Type.Object({
  accessor: accessorField,
  increment: Type.Optional(durationField()),
});
export type RenewAccessorBody = Static<typeof RenewAccessorBody>;

export const CreateTokenBody = Type.Object({
  policies: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 })),
  no_default_policy: Type.Optional(Type.Boolean({ description: "do not add the default policy" })),
  display_name: Type.Optional(Type.String({ maxLength: 128, "x-text": "line" })),
  meta: Type.Optional(
    Type.Unsafe<Record<string, string>>({
      type: "object",
      propertyNames: { "x-text": "line" },
      additionalProperties: { type: "string", maxLength: 512, "x-text": "line" },
      maxProperties: 32,
    }),
  ),
  ttl: Type.Optional(durationField("seconds, or a duration such as 8h or 30m; 0 or absent: no expiry")),
  lease: Type.Optional(durationField("Vault's older name for ttl, read when ttl is absent")),
  explicit_max_ttl: Type.Optional(durationField("no ttl or renewal goes beyond this from creation")),
  renewable: Type.Optional(
    Type.Boolean({ description: "whether renew may extend it (default true; a token without ttl never is)" }),
  ),
  no_parent: Type.Optional(Type.Boolean()),
  type: Type.Optional(Type.String({ maxLength: 16, description: "service only: batch tokens are refused" })),
  id: Type.Optional(
    Type.String({ maxLength: 200, description: "refused: breakglass makes every token itself" }),
  ),
  num_uses: Type.Optional(Type.Integer({ description: "refused unless 0: tokens have no use limit" })),
  period: Type.Optional(durationField("refused unless 0: no periodic tokens")),
});
export type CreateTokenBody = Static<typeof CreateTokenBody>;
