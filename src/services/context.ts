import type { Reader } from "../core/access.js";
import { permissionDenied } from "../core/errors.js";
import type { TokenRecord } from "../store/store.js";

/** Who is asking and from where: carried from the HTTP layer into every service call and audit entry. */
export interface RequestContext {
  actor: Actor | null;
  requestId: string;
  remoteAddr: string | null;
  userAgent: string | null;
}

/**
 * The token behind a request, without anything secret, as resolved for this request (in one
 * place: TokenService): `policies` are the rights it holds now, `owner` who answers for it, and
 * `principals` what access rules may name it as.
 */
export type Actor = Omit<TokenRecord, "tokenHmac"> & Reader;

/** How an actor appears in the audit log: the person (or root token) who answers for the request. */
export function actorLabel(actor: Actor | null): string {
  return actor ? actor.owner : "anonymous";
}

/** The actor the request's decision let in (http/request-context.ts); reaching a service without one is a wiring bug, refused. */
export function actorOf(ctx: RequestContext): Actor {
  if (!ctx.actor) throw permissionDenied();
  return ctx.actor;
}
