/**
 * The web UI's session: its token in an HttpOnly cookie (the page's scripts never see it), and
 * a CSRF token the page echoes in a header on every write. Only the token's own characters are
 * accepted in the cookie, so nothing here ever needs decoding.
 */

export const SESSION_COOKIE = "bg_session";
/** The header a cookie-authenticated write must carry (Node lower-cases header names). */
export const CSRF_HEADER = "x-breakglass-csrf";
/** The cookie's life when its token has none of its own (a root or other non-expiring token). */
export const SESSION_WITHOUT_EXPIRY_SECONDS = 8 * 3600;

const ATTRIBUTES = "HttpOnly; Secure; SameSite=Strict; Path=/";
const TOKEN_CHARACTERS = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * The session token from a Cookie header, or undefined. The same name twice with different values
 * (a cookie planted from a sibling domain beside ours) counts as none rather than guessing which.
 */
export function sessionTokenFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const values = new Set<string>();
  for (const pair of cookieHeader.split(";")) {
    const equals = pair.indexOf("=");
    if (equals < 0 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    values.add(pair.slice(equals + 1).trim());
  }
  const [value] = values;
  return values.size === 1 && value !== undefined && TOKEN_CHARACTERS.test(value) ? value : undefined;
}

/** The Set-Cookie value for a session that lasts as long as its token (or 8 h without expiry). */
export function sessionCookie(token: string, expiresAt: string | null, now: number): string {
  const seconds =
    expiresAt === null
      ? SESSION_WITHOUT_EXPIRY_SECONDS
      : Math.max(0, Math.floor((Date.parse(expiresAt) - now) / 1000));
  return `${SESSION_COOKIE}=${token}; ${ATTRIBUTES}; Max-Age=${seconds}`;
}

/** The Set-Cookie value that makes the browser forget the session. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; ${ATTRIBUTES}; Max-Age=0`;
}
