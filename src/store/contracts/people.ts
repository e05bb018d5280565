/** People (userpass users) and groups. */
export interface PeopleStore {
  findUser(username: string): Promise<UserRecord | null>;
  /**
   * Creates or replaces a user. An existing user's `mfaState` is kept as stored: only
   * `secondFactors` changes it, together with the factor.
   */
  putUser(user: UserRecord): Promise<void>;
  /** Deletes a user, their second factor and their provider account's binding, in one transaction. */
  deleteUser(username: string): Promise<boolean>;
  listUsernames(): Promise<string[]>;
  findGroup(name: string): Promise<GroupRecord | null>;
  putGroup(group: GroupRecord): Promise<void>;
  deleteGroup(name: string): Promise<boolean>;
  listGroups(): Promise<GroupRecord[]>;
}

export interface UserRecord {
  username: string;
  passwordHash: string;
  policies: string[];
  displayName: string;
  email: string;
  createdAt: string;
  updatedAt: string;
  /** The person's own second factor: none, pending (made, not yet confirmed) or enabled. */
  mfaState: "none" | "pending" | "enabled";
  /** Set by an admin: until a second factor is enabled, the person can only enrol one. */
  requireMfa: boolean;
  /** Blocked by an admin: no login succeeds and no token of theirs holds, until unblocked. */
  disabled: boolean;
  /**
   * May sign in with the OpenID provider: an admin allows it for a person who exists already (a
   * provider account never takes over someone by name alone); a person a sign-in created may.
   */
  sso: boolean;
}

export interface GroupRecord {
  name: string;
  members: string[];
  policies: string[];
  updatedAt: string;
}
