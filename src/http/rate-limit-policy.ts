/** The rate limits' groups and defaults; no dependencies, so the CLI checks a config file with them cheaply. */

/**
 * Requests a minute from one address to one route of each group; each limited route has its own
 * counter. Far above what people do by hand — a ceremony of 10 custodians behind one address,
 * retries included, or an on-call team behind one NAT signing in at once — and far below a
 * scripted guesser.
 */
export const DEFAULT_RATE_LIMITS = {
  /** A custodian's share: unseal, rekey, generate-root and seed-export updates, custodian drills. */
  shares: 100,
  /** Starting or cancelling a ceremony (most need no token): init, restore, rekey, generate-root, seed export. */
  ceremonies: 30,
  /** A password or a second-factor code: userpass login, the web UI's sign-in, second-factor confirm. */
  login: 120,
  /** A vote: asking for an approval, approving, denying. */
  approvals: 120,
  /** A TOTP code to validate (POST totp/code/NAME). */
  code_validation: 600,
  /**
   * Not a route group: requests refused for want of a valid token (none, a bad or expired one, a
   * cookie without its CSRF token), counted per address over every route. Within it each refusal
   * is audited; past it they are answered 429 and audited as one `auth.flood` entry a minute.
   */
  unauthenticated_refusals: 120,
};

export type RateLimitGroup = keyof typeof DEFAULT_RATE_LIMITS;
export type RateLimits = Record<RateLimitGroup, number>;
