import type { TokenRecord } from "../store/store.js";

/** Who is asking and from where: carried from the HTTP layer into every service call and audit entry. */
export interface RequestContext {
  actor: Actor | null;
  requestId: string;
  remoteAddr: string | null;
  userAgent: string | null;
}

/** The token behind a request, without anything secret: its accessor is a stable, non-secret name. */
export type Actor = Omit<TokenRecord, "tokenHmac">;

/** How an actor appears in the audit log. */
export function actorLabel(actor: Actor | null): string {
  return actor ? `token:${actor.accessor}` : "anonymous";
}
