import { createContext } from "preact";
import { useContext } from "preact/hooks";

/** Who is signed in, as `GET /v1/ui/session` says; the token itself stays in an HttpOnly cookie. */
export interface Session {
  username: string | null;
  display_name: string;
  policies: string[];
  csrf_token: string;
  expires_at: string | null;
  second_factor: "none" | "pending" | "enabled";
  require_second_factor: boolean;
}

export interface SessionControl {
  session: Session;
  /** Asks the server again (after a role change, or to check the session still holds). */
  refresh(): Promise<void>;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<SessionControl | null>(null);

export function useSession(): SessionControl {
  const control = useContext(SessionContext);
  if (!control) throw new Error("useSession outside a signed-in page");
  return control;
}

const ADMIN = ["root", "admin"];

/** Whether the session holds one of `roles` (root and admin hold every role). */
export function holds(session: Session, roles: readonly string[]): boolean {
  return session.policies.some((policy) => ADMIN.includes(policy) || roles.includes(policy));
}
