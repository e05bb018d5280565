import type { Clock } from "../../core/clock.js";
import { isoTime } from "../../core/clock.js";
import { BreakglassError } from "../../core/errors.js";
import { checkUsername } from "../../core/people.js";
import type { Store } from "../../store/store.js";
import type { OidcRole } from "./oidc-settings.js";

/** The claims of a verified ID token. */
export type Claims = Record<string, unknown>;

/** What a sign-in did to the person: made them, bound their provider account, changed their groups. */
export interface IdentityOutcome {
  username: string;
  created: boolean;
  bound: boolean;
  groupsAdded: string[];
  groupsRemoved: string[];
}

/** A sign-in refused for who it is: the problem goes on the record and to the caller. */
export const identityRefused = (problem: string) => new BreakglassError("OIDC_LOGIN_FAILED", problem);

/** The unusable password of a person made by a sign-in: argon2 cannot read it, so no password opens it. */
const NO_PASSWORD = "!oidc";

/**
 * Which person a provider account is. The role's `user_claim` names them, who must be someone an
 * admin allowed to sign in this way (`sso`), or someone the sign-in creates; the first sign-in binds
 * the provider account (issuer and `sub`) to that person, and from then on the two go together:
 * another account claiming the same name, or the same account under another name, is refused. The
 * provider's groups become the groups the role maps them to, and only those (explicit mappings).
 */
export class OidcIdentities {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** The person this account signs in as, made or bound on first sign-in; throws when it may not. */
  async personFor(role: OidcRole, claims: Claims, subjectKey: string): Promise<IdentityOutcome> {
    const value = claims[role.userClaim];
    if (typeof value !== "string" || value === "")
      throw identityRefused(`the ID token has no ${role.userClaim} claim (the role's user_claim) as text`);
    let username: string;
    try {
      username = checkUsername(value);
    } catch {
      throw identityRefused(
        `the ${role.userClaim} claim is not a breakglass username (lower-case letters, digits, '.', '_', '-'): choose another user_claim`,
      );
    }
    const bound = await this.store.oidc.findIdentity(subjectKey);
    if (bound && bound.username !== username)
      throw identityRefused(
        `this provider account is bound to user:${bound.username}, but its ${role.userClaim} now says ${username}`,
      );
    const boundOther = bound ? null : await this.store.oidc.findIdentityOf(username);
    if (boundOther) throw identityRefused(`user:${username} is bound to another provider account`);
    const now = isoTime(this.clock);
    let user = await this.store.findUser(username);
    let created = false;
    if (!user) {
      if (!role.createUsers)
        throw identityRefused(
          `no person named ${username}, and the role does not create people (create_users)`,
        );
      user = {
        username,
        passwordHash: NO_PASSWORD,
        policies: role.tokenPolicies,
        displayName: typeof claims.name === "string" && claims.name.length <= 128 ? claims.name : username,
        email: typeof claims.email === "string" && claims.email.length <= 254 ? claims.email : "",
        createdAt: now,
        updatedAt: now,
        mfaState: "none",
        requireMfa: false,
        disabled: false,
        sso: true,
      };
      await this.store.putUser(user);
      created = true;
    }
    if (user.disabled) throw identityRefused(`user:${username} is blocked by an admin`);
    // A name alone never hands over someone who exists: an admin says who may sign in this way.
    if (!user.sso)
      throw identityRefused(
        `user:${username} exists and may not sign in with the provider: an admin allows it (breakglass users sso ${username} on)`,
      );
    const newlyBound =
      !bound && (await this.store.oidc.bindIdentity({ subjectKey, username, createdAt: now }));
    if (!bound && !newlyBound) throw identityRefused(`user:${username} is bound to another provider account`);
    return { username, created, bound: newlyBound, ...(await this.syncGroups(role, username, claims)) };
  }

  /**
   * Makes the person a member of exactly the mapped groups their provider groups name: added to
   * those named, taken out of the others the role maps to. Groups the role does not map are left alone.
   */
  async syncGroups(
    role: OidcRole,
    username: string,
    claims: Claims,
  ): Promise<{ groupsAdded: string[]; groupsRemoved: string[] }> {
    const mapped = new Set(Object.values(role.groupMappings));
    if (mapped.size === 0) return { groupsAdded: [], groupsRemoved: [] };
    const theirs = new Set(providerGroups(claims, role.groupsClaim));
    const wanted = new Set(
      Object.entries(role.groupMappings)
        .filter(([providerGroup]) => theirs.has(providerGroup))
        .map(([, group]) => group),
    );
    const groupsAdded: string[] = [];
    const groupsRemoved: string[] = [];
    const now = isoTime(this.clock);
    for (const group of await this.store.listGroups()) {
      if (!mapped.has(group.name)) continue;
      const member = group.members.includes(username);
      if (wanted.has(group.name) === member) continue;
      const members = member ? group.members.filter((m) => m !== username) : [...group.members, username];
      await this.store.putGroup({ ...group, members, updatedAt: now });
      (member ? groupsRemoved : groupsAdded).push(group.name);
    }
    return { groupsAdded, groupsRemoved };
  }
}

/** The provider's groups in the claim the role names: a list of texts, or one text. */
function providerGroups(claims: Claims, groupsClaim: string | null): string[] {
  if (groupsClaim === null) return [];
  const value = claims[groupsClaim];
  if (typeof value === "string") return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}
