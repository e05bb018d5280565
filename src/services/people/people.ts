import { hash } from "@node-rs/argon2";
import { type Clock, isoTime } from "../../core/clock.js";
import { badInput, notFound } from "../../core/errors.js";
import {
  checkEmail,
  checkGroupName,
  checkPassword,
  checkUsername,
  FREE_FAILURES,
  lockEnds,
} from "../../core/people.js";
import { checkPolicies, MFA_ENROLMENT_ONLY } from "../../core/policy.js";
import type { GroupRecord, Store, UserRecord } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Identity, TokenService } from "../auth/tokens.js";
import type { RequestContext } from "../context.js";

export interface UserInput {
  password?: string;
  policies?: string[];
  groups?: string[];
  displayName?: string;
  email?: string;
  /** Until the person enables a second factor, their logins can only enrol one. */
  requireMfa?: boolean;
  /** Blocked: no login succeeds and every token of theirs ends, until set false again. */
  disabled?: boolean;
  /** May sign in with the OpenID provider (docs/sso.md). */
  sso?: boolean;
}

export interface UserView extends Omit<UserRecord, "passwordHash"> {
  groups: string[];
  lockedUntil: string | null;
}

/**
 * A person as every decision sees them now: their roles (their own, their groups', and
 * `default`) and what access rules may name them as (`user:NAME`, `group:NAME`). Someone an
 * admin requires to enrol a second factor holds only `mfa-enrolment` and matches no rule until
 * it is enabled. Null when there is no such user. A function of the store alone, so that tokens
 * (which people need) can be made before people.
 */
export async function identityOf(store: Store, username: string): Promise<Identity | null> {
  const user = await store.findUser(username);
  // A person an admin blocked holds nothing: every token of theirs stops at its next request.
  if (!user || user.disabled) return null;
  if (user.requireMfa && user.mfaState !== "enabled")
    return { policies: [MFA_ENROLMENT_ONLY], principals: [], since: user.createdAt };
  const groups = await groupsOf(store, username);
  return {
    policies: [...new Set([...user.policies, ...groups.flatMap((g) => g.policies), "default"])],
    principals: [`user:${username}`, ...groups.map((group) => `group:${group.name}`)],
    since: user.createdAt,
  };
}

async function groupsOf(store: Store, username: string): Promise<GroupRecord[]> {
  return (await store.listGroups()).filter((group) => group.members.includes(username));
}

/** People and groups (Vault's userpass users, plus groups): who they are, which roles they hold. */
export class PeopleService {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async putUser(username: string, input: UserInput, ctx: RequestContext): Promise<void> {
    checkUsername(username);
    const existing = await this.store.findUser(username);
    if (!existing && input.password === undefined) throw badInput("password is required to create a user");
    checkPolicies(input.policies ?? []);
    const groups = await this.groupsNamed(input.groups);
    const now = isoTime(this.clock);
    const email = checkEmail(input.email ?? existing?.email ?? "");
    const passwordHash =
      input.password === undefined ? existing?.passwordHash : await hash(checkPassword(input.password));
    await this.audit.record(ctx, {
      action: "people.user.write",
      target: `user:${username}`,
      outcome: "allowed",
      details: {
        created: !existing,
        password_changed: input.password !== undefined,
        require_mfa: input.requireMfa ?? null,
        disabled: input.disabled ?? null,
        sso: input.sso ?? null,
      },
    });
    await this.store.putUser({
      username,
      passwordHash: passwordHash as string,
      policies: input.policies ?? existing?.policies ?? [],
      displayName: input.displayName ?? existing?.displayName ?? username,
      email,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      mfaState: existing?.mfaState ?? "none",
      requireMfa: input.requireMfa ?? existing?.requireMfa ?? false,
      disabled: input.disabled ?? existing?.disabled ?? false,
      sso: input.sso ?? existing?.sso ?? false,
    });
    if (groups) await this.setMembership(username, groups, now);
    // A new password ends the sessions made with the old one.
    // A new password is often the answer to a stolen one: every token the person answers for ends
    // (logins, sessions, and tokens made with them, orphans included).
    // Blocking is the same, at once: the person's tokens end, and none holds while they are blocked.
    if (existing && (input.password !== undefined || input.disabled === true))
      await this.tokens.revokeEverythingOf(username);
  }

  async getUser(username: string): Promise<UserView> {
    const user = await this.store.findUser(username);
    if (!user) throw notFound(`no user named ${username}`);
    const { passwordHash: _hash, ...view } = user;
    const failures = await this.store.readLoginFailures(`user:${username}`);
    const lockEnd = failures ? lockEnds(failures.failures, failures.lastAttemptAt, FREE_FAILURES.user) : 0;
    const locked = lockEnd > this.clock.now() ? new Date(lockEnd).toISOString() : null;
    return {
      ...view,
      groups: (await groupsOf(this.store, username)).map((g) => g.name),
      lockedUntil: locked,
    };
  }

  async listUsers(): Promise<string[]> {
    return this.store.listUsernames();
  }

  async deleteUser(username: string, ctx: RequestContext): Promise<void> {
    const exists = (await this.store.findUser(username)) !== null;
    await this.audit.record(ctx, {
      action: "people.user.delete",
      target: `user:${username}`,
      outcome: exists ? "allowed" : "failed",
    });
    if (!exists) return;
    await this.setMembership(username, [], isoTime(this.clock));
    await this.store.deleteUser(username);
    await this.tokens.revokeEverythingOf(username);
  }

  async putGroup(
    name: string,
    input: { members: string[]; policies?: string[] },
    ctx: RequestContext,
  ): Promise<void> {
    checkGroupName(name);
    checkPolicies(input.policies ?? []);
    for (const member of input.members)
      if (!(await this.store.findUser(member))) throw badInput(`no user named ${member}`);
    const existing = await this.store.findGroup(name);
    await this.audit.record(ctx, {
      action: "people.group.write",
      target: `group:${name}`,
      outcome: "allowed",
      details: {
        members: input.members.join(","),
        policies: (input.policies ?? existing?.policies ?? []).join(","),
      },
    });
    await this.store.putGroup({
      name,
      members: [...new Set(input.members)].sort(),
      policies: input.policies ?? existing?.policies ?? [],
      updatedAt: isoTime(this.clock),
    });
  }

  async getGroup(name: string): Promise<GroupRecord> {
    const group = await this.store.findGroup(name);
    if (!group) throw notFound(`no group named ${name}`);
    return group;
  }

  async listGroups(): Promise<string[]> {
    return (await this.store.listGroups()).map((group) => group.name);
  }

  async deleteGroup(name: string, ctx: RequestContext): Promise<void> {
    const exists = (await this.store.findGroup(name)) !== null;
    await this.audit.record(ctx, {
      action: "people.group.delete",
      target: `group:${name}`,
      outcome: exists ? "allowed" : "failed",
    });
    if (exists) await this.store.deleteGroup(name);
  }

  identityOf(username: string): Promise<Identity | null> {
    return identityOf(this.store, username);
  }

  /** What a person's own session shows of them; no check beyond the token they hold. Null when gone. */
  async profileOf(
    username: string,
  ): Promise<Pick<UserRecord, "displayName" | "mfaState" | "requireMfa"> | null> {
    const user = await this.store.findUser(username);
    return user
      ? { displayName: user.displayName, mfaState: user.mfaState, requireMfa: user.requireMfa }
      : null;
  }

  private async groupsNamed(names: string[] | undefined): Promise<GroupRecord[] | null> {
    if (names === undefined) return null;
    const all = await this.store.listGroups();
    return names.map((name) => {
      const group = all.find((g) => g.name === name);
      if (!group) throw badInput(`no group named ${name}: create the group first`);
      return group;
    });
  }

  /** Puts the user in exactly these groups, taking them out of all others. */
  private async setMembership(username: string, groups: GroupRecord[], now: string): Promise<void> {
    const wanted = new Set(groups.map((g) => g.name));
    for (const group of await this.store.listGroups()) {
      const isMember = group.members.includes(username);
      if (isMember === wanted.has(group.name)) continue;
      const members = isMember
        ? group.members.filter((m) => m !== username)
        : [...group.members, username].sort();
      await this.store.putGroup({ ...group, members, updatedAt: now });
    }
  }
}
