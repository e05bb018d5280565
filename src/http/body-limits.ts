import type { FastifyInstance } from "fastify";
import { MAX_QR_IMAGE_BASE64 } from "../api/totp.js";
import { errorSchema } from "./error-schema.js";

/**
 * How many bytes of body each route takes: the one place to read or change them. A body larger
 * than its route's limit is refused with 413 — by its Content-Length before a byte of it is read,
 * or as soon as a chunked body passes the limit — and never parsed.
 */

const KIB = 1024;
const MIB = 1024 * KIB;

/** Every JSON body the API takes that is not listed below: a few fields of text. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * KIB;
/** A backup is streamed, never held whole (routes/sys-backup.ts counts it as it reads). */
export const RESTORE_BODY_LIMIT_BYTES = 20 * 1024 * MIB;

/** An image and the few fields beside it. */
const IMAGE_BODY_LIMIT_BYTES = MAX_QR_IMAGE_BASE64 + MIB;
/** Armoured OpenPGP public keys, one a custodian: about a hundred ordinary keys (3–10 KiB each). */
const PGP_KEYS_BODY_LIMIT_BYTES = MIB;
/** A group of up to 1,000 members. */
const GROUP_BODY_LIMIT_BYTES = 128 * KIB;

const BODY_LIMITS: Readonly<Record<string, number>> = {
  "/v1/totp/keys/:name": IMAGE_BODY_LIMIT_BYTES,
  "/v1/totp/import/google-authenticator": IMAGE_BODY_LIMIT_BYTES,
  "/v1/sys/restore": RESTORE_BODY_LIMIT_BYTES,
  "/v1/sys/init": PGP_KEYS_BODY_LIMIT_BYTES,
  "/v1/sys/rekey/init": PGP_KEYS_BODY_LIMIT_BYTES,
  "/v1/sys/generate-root/attempt": PGP_KEYS_BODY_LIMIT_BYTES,
  "/v1/sys/export-seed/attempt": PGP_KEYS_BODY_LIMIT_BYTES,
  "/v1/groups/:name": GROUP_BODY_LIMIT_BYTES,
};

const METHODS_WITH_A_BODY = new Set(["POST", "PUT", "PATCH"]);

/** Gives every route registered after this its limit, and documents the 413 of those that take a body. */
export function installBodyLimits(app: FastifyInstance): void {
  const limited = new Set<string>();
  app.addHook("onRoute", (route) => {
    if (route.bodyLimit !== undefined)
      throw new Error(`${route.url}: declare its body limit in src/http/body-limits.ts, not on the route`);
    route.bodyLimit = BODY_LIMITS[route.url] ?? DEFAULT_BODY_LIMIT_BYTES;
    limited.add(route.url);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.schema && methods.some((method) => METHODS_WITH_A_BODY.has(method)))
      route.schema.response = { 413: errorSchema, ...(route.schema.response as object) };
  });
  // A renamed route would otherwise silently fall back to the default.
  app.addHook("onReady", async () => {
    const unused = Object.keys(BODY_LIMITS).filter((url) => !limited.has(url));
    if (unused.length > 0) throw new Error(`body limits for routes that do not exist: ${unused.join(", ")}`);
  });
}

/** A limit in words: "64 KiB", "13 MiB". */
export function describeBytes(bytes: number): string {
  if (bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes % KIB === 0) return `${bytes / KIB} KiB`;
  return `${bytes} bytes`;
}
