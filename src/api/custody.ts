import { type Static, Type } from "typebox";
import { custodiansField, PGP_KEY } from "./sys-seal.js";

/** Custody ceremonies (sys/rekey, sys/generate-root, sys/export-seed) and custodian drills: what they take. */

/** One share as every share-taking endpoint reads it. */
const shareKey = Type.String({ maxLength: 1024, description: "one unseal key share, hex or base64" });

/** A share towards a ceremony in progress. */
export const ShareBody = Type.Object({
  key: Type.Optional(shareKey),
  nonce: Type.Optional(Type.String({ maxLength: 64, description: "the nonce of the attempt in progress" })),
});
export type ShareBody = Static<typeof ShareBody>;

export const RekeyInitBody = Type.Object({
  secret_shares: Type.Integer({ minimum: 1, maximum: 255 }),
  secret_threshold: Type.Integer({ minimum: 1, maximum: 255 }),
  pgp_keys: Type.Optional(Type.Array(PGP_KEY, { maxItems: 255 })),
  backup: Type.Optional(Type.Boolean()),
  require_verification: Type.Optional(Type.Boolean()),
  custodians: Type.Optional(custodiansField),
});
export type RekeyInitBody = Static<typeof RekeyInitBody>;

const generateRootFields = Type.Object({
  pgp_key: Type.Optional(PGP_KEY),
  otp: Type.Optional(Type.String({ maxLength: 200 })),
});
/** Vault's CLI may send `null` for the whole body. */
export const GenerateRootBody = Type.Unsafe<Static<typeof generateRootFields> | null>({
  ...generateRootFields,
  type: ["object", "null"],
});

export const SeedExportBody = Type.Object({ name: Type.String({ maxLength: 128 }), pgp_key: PGP_KEY });
export type SeedExportBody = Static<typeof SeedExportBody>;

export const DrillBody = Type.Object({ key: shareKey });
export type DrillBody = Static<typeof DrillBody>;
