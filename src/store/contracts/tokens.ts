export interface TokenStore {
  insert(token: TokenRecord): Promise<void>;
  /**
   * The token with this HMAC, then its parent, its parent's parent… in that order, as far as they
   * exist: a line that stops at a token which still names a parent lost that parent (revoked).
   * Empty when no token has this HMAC.
   */
  findLine(tokenHmac: string): Promise<TokenRecord[]>;
  findByAccessor(accessor: string): Promise<TokenRecord | null>;
  /** The accessors of the tokens not expired at `now`. */
  listAccessors(now: string): Promise<string[]>;
  /** Deletes the token and every token made from it, at any depth; returns the accessors deleted. */
  revokeTree(accessor: string): Promise<string[]>;
  /** Deletes every token `owner` answers for, with their trees; returns the accessors deleted. */
  revokeOwnedBy(owner: string): Promise<string[]>;
  /** Deletes the token alone, its children becoming orphans; returns how many were orphaned, or null if it was gone. */
  revokeOrphan(accessor: string): Promise<number | null>;
  /** A renewal: the new expiry, and when it was renewed. False when the token is gone. */
  renew(accessor: string, expiresAt: string, renewedAt: string): Promise<boolean>;
}

export interface TokenRecord {
  tokenHmac: string;
  accessor: string;
  displayName: string;
  /** The roles it was made with; a person's login (username set) holds the person's roles instead. */
  policies: string[];
  meta: Record<string, string>;
  /** The token it was made from: revoking or expiring that one ends this one. Null for an orphan. */
  parentAccessor: string | null;
  createdAt: string;
  expiresAt: string | null;
  /** The person it logs in as (a login, or a browser session opened with one); null otherwise. */
  username: string | null;
  /**
   * Who answers for it: `user:NAME` for a person's login and every token made from it or by them;
   * `token:ACCESSOR` of the root token (init, generate-root) for that root token's line.
   */
  owner: string;
  /** Vault's `path`: `auth/token/root` (init, generate-root), `auth/token/create[-orphan]`, a login's path. */
  path: string;
  /** The lifetime it was issued with, in seconds (0: no expiry). */
  creationTtl: number;
  /** No renewal takes it past `createdAt` + this many seconds (0: no such cap). */
  explicitMaxTtl: number;
  renewable: boolean;
  lastRenewalAt: string | null;
}
