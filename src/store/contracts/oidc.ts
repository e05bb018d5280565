/**
 * Sign-in with an OpenID provider (services/auth/oidc-*.ts): the provider and roles an admin
 * configured, sign-ins in flight, which provider account is which person, and each OIDC login's
 * refresh token.
 */
export interface OidcStore {
  readConfig(): Promise<OidcConfigRecord | null>;
  putConfig(config: OidcConfigRecord): Promise<void>;
  deleteConfig(): Promise<void>;
  findRole(name: string): Promise<OidcRoleRecord | null>;
  putRole(role: OidcRoleRecord): Promise<void>;
  deleteRole(name: string): Promise<boolean>;
  listRoleNames(): Promise<string[]>;
  /** Keeps a sign-in started by auth_url until its callback (or its expiry). */
  putState(state: OidcStateRecord): Promise<void>;
  /**
   * Takes a sign-in in flight, once: deletes it and returns it when it exists and has not expired
   * at `now`; null otherwise (unknown, used already, or expired). Expired ones are swept on the way.
   */
  takeState(stateHmac: string, now: string): Promise<OidcStateRecord | null>;
  /** The person a provider account was first seen as, or null. */
  findIdentity(subjectKey: string): Promise<OidcIdentityRecord | null>;
  /** The provider account a person was first seen as, or null. */
  findIdentityOf(username: string): Promise<OidcIdentityRecord | null>;
  /** Binds a provider account to a person; false when either is bound already (to something else). */
  bindIdentity(identity: OidcIdentityRecord): Promise<boolean>;
  /** Each OIDC login token's provider session: its refresh token, sealed. */
  putLogin(login: OidcLoginRecord): Promise<void>;
  findLogin(accessor: string): Promise<OidcLoginRecord | null>;
  deleteLogin(accessor: string): Promise<void>;
}

export interface OidcConfigRecord {
  discoveryUrl: string;
  clientId: string;
  /** Sealed under data key `keyVersion` (null: a public client, PKCE only). */
  clientSecretCiphertext: Buffer | null;
  keyVersion: number | null;
  defaultRole: string;
  updatedAt: string;
}

/** A role: what a sign-in through it may be, as the API's role body (api/oidc.ts), stored as JSON. */
export interface OidcRoleRecord {
  name: string;
  spec: string;
  updatedAt: string;
}

export interface OidcStateRecord {
  /** HMAC of the state sent to the provider: a stolen database row cannot finish a sign-in. */
  stateHmac: string;
  role: string;
  redirectUri: string;
  /** HMAC of the caller's client_nonce, which the callback must repeat (Vault's CLI sends one). */
  clientNonceHmac: string | null;
  createdAt: string;
  expiresAt: string;
}

export interface OidcIdentityRecord {
  /** The provider's issuer and the account's `sub`, as `ISSUER SUB`: unique at that provider. */
  subjectKey: string;
  username: string;
  createdAt: string;
}

export interface OidcLoginRecord {
  accessor: string;
  role: string;
  username: string;
  subjectKey: string;
  /** The provider's refresh token, sealed; null when it gave none (renewal then needs a new sign-in). */
  refreshCiphertext: Buffer | null;
  keyVersion: number | null;
  updatedAt: string;
}
