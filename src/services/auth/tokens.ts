// Over 400 lines: the token tree (create, look up, renew, revoke) and the resolution of a presented token share one cache of token lines and one HMAC key.
import { createHmac, randomBytes } from "node:crypto";
import type { AuditAction } from "../../core/audit-actions.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { sameSecret } from "../../core/constant-time.js";
import { badInput, permissionDenied } from "../../core/errors.js";
import { BUILT_IN_POLICIES, checkPolicies, isAllowed } from "../../core/policy.js";
import type { Store, TokenRecord } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RefusalFlood } from "../audit/refusal-flood.js";
import { type Actor, actorOf, type RequestContext } from "../context.js";
import { TtlCache } from "../node/ttl-cache.js";

/** The longest a token made with a ttl can be kept alive by renewals: Vault's default max_lease_ttl (768h). */
const MAX_RENEWED_LIFETIME_SECONDS = 768 * 3600;
const TOKEN_PREFIX = "bgs.";
const TOKEN_BYTES = 32;
const TOKEN_CACHE_MS = 1_000; // a revocation on another node is in force here within this
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
const SESSION_TTL_SECONDS = 8 * 3600;
const ACCESSOR = /^[A-Za-z0-9_-]{24}$/;

export interface TokenRequest {
  /** Absent or empty: the maker's own. Given: `default` is added unless `noDefaultPolicy`, as in Vault. */
  policies?: string[];
  noDefaultPolicy?: boolean;
  /** Vault's rule: `token-` and the name, every character but letters, digits and `-` made `-`. */
  displayName?: string;
  meta?: Record<string, string>;
  ttlSeconds?: number;
  /** A cap on the lifetime, renewals included (0 or absent: none). */
  explicitMaxTtlSeconds?: number;
  /** Whether a renewal may push back its expiry (Vault's default: yes). */
  renewable?: boolean;
  /** An orphan: revoking or expiring its maker's token does not end it (its maker still answers for it). */
  noParent?: boolean;
  /** The endpoint it was made through, Vault's `path`: `auth/token/create` or `auth/token/create-orphan`. */
  path: string;
}

/** A token as described after creation: never the token, nor its HMAC. */
export type DescribedToken = Omit<TokenRecord, "tokenHmac">;

export interface IssuedToken {
  token: string;
  record: TokenRecord;
}

/** How a person logged in, as their login token records it: Vault's `path`, a display name naming the method. */
export interface LoginMethod {
  path: string;
  displayName: string;
  meta: Record<string, string>;
  /** Whether renew-self may extend it: only when renewal asks the method again (`vouch`). */
  renewable: boolean;
}

/** Whether a login may be renewed, asked of its method: a problem that ends it, or null. */
export type RenewalVouch = (token: DescribedToken, ctx: RequestContext) => Promise<string | null>;

/** A person as tokens need them: the roles they hold now and what access rules may name them as. */
export interface Identity {
  policies: string[];
  principals: string[];
  /** When this person's account was made: what a deleted person of the same name did before is not theirs. */
  since: string;
}

type Resolved = { actor: Actor } | { problem: string };

/**
 * API tokens: 32 random bytes, shown once; the store keeps only an HMAC of them under a key from
 * the keyring. Tokens form Vault's tree: a token made by a token is its child (unless an admin asks
 * for an orphan), never outlives it, and ends with it. Every token carries who answers for it
 * (`owner`): the person who logged in or made it, through any depth of children.
 *
 * The one place where a caller is resolved (`resolve`: the token, its line, the person's roles
 * and groups now); access is decided in one place too, with the request (auth/authorizer.ts).
 */
export class TokenService {
  /** Token lines by HMAC: the token and its parents, as the store last had them. */
  private readonly lines: TtlCache<TokenRecord[]>;

  /** Every token is this long (the prefix and 32 random bytes in base64url): a root token's pad matches it. */
  readonly tokenLength = TOKEN_PREFIX.length + Math.ceil((TOKEN_BYTES * 4) / 3);

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly hmacKey: () => Buffer,
    /** A person's roles and principals now (their own and their groups'), or null when they are gone. */
    private readonly identityOf: (username: string) => Promise<Identity | null>,
    /** Where refusals of callers without a valid token are audited: one by one, or counted as a flood. */
    private readonly refusals: RefusalFlood,
    /** Expiry is judged by a time a clock set back cannot take back. */
    private readonly clock: Clock,
    /** A login renewed is vouched for again by the method it came through (an OpenID provider asked anew). */
    private readonly vouch: RenewalVouch,
  ) {
    this.lines = new TtlCache(TOKEN_CACHE_MS, clock);
  }

  /** A root token (init, generate-root): it answers for itself and for every token made from it. */
  async issueRootToken(hmacKey: Buffer): Promise<string> {
    const issued = await this.mint(hmacKey, {
      policies: ["root"],
      displayName: "root",
      meta: {},
      parentAccessor: null,
      expiresAt: null,
      username: null,
      owner: null,
      path: "auth/token/root",
      explicitMaxTtl: 0,
      renewable: false,
    });
    return issued.token;
  }

  /**
   * Who is asking, on an endpoint that needs no token (as in Vault): the actor of a valid token,
   * else null. Only names the caller on the record; it never grants anything.
   */
  async identify(presented: string | undefined): Promise<Actor | null> {
    const resolved = await this.resolve(presented);
    return "actor" in resolved && (await this.makerProblem(resolved.actor)) === null ? resolved.actor : null;
  }

  /** A browser session's CSRF token: derived from its token, so it needs no storage and dies with it. */
  csrfTokenOf(token: string): string {
    return createHmac("sha256", this.hmacKey()).update(`csrf:${token}`, "utf8").digest("base64url");
  }

  /** A write authenticated by a session cookie must echo the session's CSRF token; refusals are audited. */
  async checkCsrf(
    token: string,
    presented: string | undefined,
    ctx: RequestContext,
    action: AuditAction,
  ): Promise<void> {
    if (sameSecret(this.csrfTokenOf(token), presented ?? "")) return;
    await this.refusals.record(ctx, {
      action,
      outcome: "denied",
      details: { problem: presented ? "wrong CSRF token" : "no CSRF token" },
    });
    throw permissionDenied("missing or wrong CSRF token: reload the page");
  }

  /**
   * Vault's token/create: a child of the caller's token (an orphan with `no_parent`), answering to
   * the same person, holding only roles whose every action the caller holds (root only from root),
   * and never outliving its parent.
   */
  async create(request: TokenRequest, ctx: RequestContext): Promise<IssuedToken> {
    const creator = actorOf(ctx);
    const policies = this.policiesFor(creator, request);
    checkPolicies(policies);
    const beyond = policies.filter((policy) => !this.mayGrant(creator, policy));
    if (beyond.length > 0) {
      const problem = `a token cannot be given roles beyond its maker's: ${beyond.join(", ")}`;
      await this.refuse(ctx, "token.create", null, problem);
      throw permissionDenied(`permission denied: ${problem}`);
    }
    const explicitMax = checkedSeconds(request.explicitMaxTtlSeconds, "explicit_max_ttl") ?? 0;
    const requested = checkedSeconds(request.ttlSeconds, "ttl") ?? 0;
    // As Vault: the explicit max caps the ttl, and stands for it when none is given.
    const ttl = explicitMax > 0 && (requested === 0 || requested > explicitMax) ? explicitMax : requested;
    const parent = request.noParent ? null : creator;
    const now = this.clock.now();
    const expiresAt = earlier(expiryIn(ttl, now), parent?.expiresAt ?? null);
    if (expiresAt === null && creator.expiresAt !== null)
      throw badInput("expiring tokens cannot create non-expiring tokens: give it a ttl");
    const issued = await this.mint(this.hmacKey(), {
      policies,
      displayName: request.displayName ? vaultDisplayName(request.displayName) : "token",
      meta: request.meta ?? {},
      parentAccessor: parent?.accessor ?? null,
      expiresAt,
      username: null,
      owner: creator.owner,
      path: request.path,
      explicitMaxTtl: explicitMax,
      renewable: expiresAt !== null && request.renewable !== false,
    });
    await this.audit.record(ctx, {
      action: "token.create",
      target: `token:${issued.record.accessor}`,
      outcome: "allowed",
      details: {
        policies: policies.join(","),
        display_name: issued.record.displayName,
        expires_at: issued.record.expiresAt,
        parent: issued.record.parentAccessor,
        path: request.path,
      },
    });
    return issued;
  }

  /** Every token may look itself up (nothing else is needed to know who one is). */
  async lookupSelf(ctx: RequestContext): Promise<Actor> {
    const actor = actorOf(ctx);
    await this.audit.record(ctx, {
      action: "token.lookup-self",
      target: `token:${actor.accessor}`,
      outcome: "allowed",
    });
    return actor;
  }

  /** Every token may revoke itself; its children end with it. */
  async revokeSelf(ctx: RequestContext): Promise<void> {
    const actor = actorOf(ctx);
    await this.revokeTreeAudited(ctx, "token.revoke-self", actor.accessor);
  }

  /** Vault's token/revoke (admins): the token and its children. An unknown token is no error, as in Vault. */
  async revoke(token: string, ctx: RequestContext): Promise<void> {
    const line = await this.lineOf(token);
    const record = line[0];
    if (!record) {
      await this.audit.record(ctx, {
        action: "token.revoke",
        outcome: "failed",
        details: { problem: "unknown or revoked token" },
      });
      return;
    }
    await this.revokeTreeAudited(ctx, "token.revoke", record.accessor);
  }

  /** Vault's token/revoke-accessor (admins): a token named by its accessor, and its children. */
  async revokeAccessor(accessor: string, ctx: RequestContext): Promise<void> {
    await this.knownAccessor(accessor, "token.revoke-accessor", ctx);
    await this.revokeTreeAudited(ctx, "token.revoke-accessor", accessor);
  }

  /** Vault's token/lookup-accessor (admins): what a token is, named by its accessor. */
  async lookupAccessor(accessor: string, ctx: RequestContext): Promise<Omit<TokenRecord, "tokenHmac">> {
    const { tokenHmac: _hmac, ...record } = await this.knownAccessor(accessor, "token.lookup-accessor", ctx);
    await this.audit.record(ctx, {
      action: "token.lookup-accessor",
      target: `token:${accessor}`,
      outcome: "allowed",
    });
    return record;
  }

  /** Vault's token/lookup (admins): what a token is, given the token itself. */
  async lookup(token: string, ctx: RequestContext): Promise<Omit<TokenRecord, "tokenHmac">> {
    const { tokenHmac: _hmac, ...record } = await this.liveToken(token, "token.lookup", ctx, () =>
      permissionDenied("bad token"),
    );
    await this.audit.record(ctx, {
      action: "token.lookup",
      target: `token:${record.accessor}`,
      outcome: "allowed",
    });
    return record;
  }

  /** Vault's token/revoke-orphan (admins): the token alone; its children become orphans. */
  async revokeOrphan(token: string, ctx: RequestContext): Promise<void> {
    const record = await this.liveToken(token, "token.revoke-orphan", ctx, () =>
      badInput("token to revoke not found"),
    );
    const orphaned = await this.store.tokens.revokeOrphan(record.accessor);
    this.lines.clear();
    await this.audit.record(ctx, {
      action: "token.revoke-orphan",
      target: `token:${record.accessor}`,
      outcome: orphaned === null ? "failed" : "allowed",
      details: orphaned === null ? { problem: "already revoked" } : { orphaned },
    });
  }

  /** Vault's token/renew-self: every token may renew itself, if it is renewable. */
  renewSelf(incrementSeconds: number | undefined, ctx: RequestContext): Promise<DescribedToken> {
    const actor = actorOf(ctx);
    return this.renewAudited(ctx, "token.renew-self", actor, incrementSeconds);
  }

  /** Vault's token/renew (admins): a token given by itself. */
  async renew(
    token: string,
    incrementSeconds: number | undefined,
    ctx: RequestContext,
  ): Promise<DescribedToken> {
    const record = await this.liveToken(token, "token.renew", ctx, () => badInput("token not found"));
    return this.renewAudited(ctx, "token.renew", record, incrementSeconds);
  }

  /** Vault's token/renew-accessor (admins): a token named by its accessor. */
  async renewAccessor(
    accessor: string,
    incrementSeconds: number | undefined,
    ctx: RequestContext,
  ): Promise<DescribedToken> {
    const record = await this.knownAccessor(accessor, "token.renew-accessor", ctx);
    return this.renewAudited(ctx, "token.renew-accessor", record, incrementSeconds);
  }

  /** Vault's LIST auth/token/accessors (admins): the accessor of every token that has not expired. */
  async listAccessors(ctx: RequestContext): Promise<string[]> {
    const accessors = await this.store.tokens.listAccessors(isoTime(this.clock));
    await this.audit.record(ctx, {
      action: "token.list-accessors",
      target: "auth/token/accessors",
      outcome: "allowed",
      details: { count: accessors.length },
    });
    return accessors;
  }

  /**
   * A token for a person who just logged in (the caller checked the password, or the provider's
   * ID token); it expires. A password login ends when it ends: a new one checks the password (and
   * factor) again.
   */
  issueLoginToken(
    username: string,
    policies: string[],
    ttlSeconds: number,
    method: LoginMethod = {
      path: `auth/userpass/login/${username}`,
      displayName: `userpass-${username}`,
      meta: { username },
      renewable: false,
    },
  ): Promise<IssuedToken> {
    return this.mint(this.hmacKey(), {
      policies,
      displayName: method.displayName,
      meta: method.meta,
      parentAccessor: null,
      expiresAt: expiryIn(ttlSeconds, this.clock.now()),
      username,
      owner: `user:${username}`,
      path: method.path,
      explicitMaxTtl: 0,
      renewable: method.renewable,
    });
  }

  /**
   * A browser session opened with a pasted token: the cookie gets a child of it (same roles and
   * owner, at most 8 hours, never beyond the parent), so signing out ends the session, not the
   * pasted token (the root token, say), and revoking the pasted token ends the session.
   */
  async issueSessionToken(ctx: RequestContext): Promise<IssuedToken> {
    const parent = actorOf(ctx);
    const issued = await this.mint(this.hmacKey(), {
      policies: parent.policies,
      username: parent.username,
      displayName: parent.displayName, // the person sees who they are
      meta: parent.meta,
      parentAccessor: parent.accessor,
      expiresAt: earlier(expiryIn(SESSION_TTL_SECONDS, this.clock.now()), parent.expiresAt),
      owner: parent.owner,
      path: "ui/session",
      explicitMaxTtl: 0,
      renewable: false,
    });
    await this.audit.record(ctx, {
      action: "ui.session.open",
      target: `token:${issued.record.accessor}`,
      outcome: "allowed",
      details: { parent: parent.accessor, expires_at: issued.record.expiresAt },
    });
    return issued;
  }

  /**
   * A person deleted, or given a new password: every token they answer for ends — logins,
   * sessions, and tokens they made, orphans included.
   */
  async revokeEverythingOf(username: string): Promise<void> {
    await this.store.tokens.revokeOwnedBy(`user:${username}`);
    this.lines.clear();
  }

  private async revokeTreeAudited(ctx: RequestContext, action: AuditAction, accessor: string): Promise<void> {
    const revoked = await this.store.tokens.revokeTree(accessor);
    this.lines.clear();
    await this.audit.record(ctx, {
      action,
      target: `token:${accessor}`,
      outcome: "allowed",
      details: { revoked: revoked.length },
    });
  }

  /**
   * Vault's renewal: the expiry becomes now + the increment (the ttl it was made with when none is
   * given), never past its explicit max nor its parent's expiry. Only tokens made renewable with
   * token/create are: a root token does not expire, and a login ends when it ends.
   */
  private async renewAudited(
    ctx: RequestContext,
    action: AuditAction,
    record: DescribedToken,
    incrementSeconds: number | undefined,
  ): Promise<DescribedToken> {
    const increment = checkedSeconds(incrementSeconds, "increment") || record.creationTtl;
    const now = this.clock.now();
    const target = `token:${record.accessor}`;
    const problem =
      record.expiresAt === null || !record.renewable
        ? "lease is not renewable"
        : Date.parse(record.expiresAt) <= now
          ? "lease expired"
          : null;
    const parent = record.parentAccessor
      ? await this.store.tokens.findByAccessor(record.parentAccessor)
      : null;
    // As Vault's max_lease_ttl: without an explicit_max_ttl a token still cannot be renewed past
    // 32 days from its creation, so a stolen renewable token does not live for ever.
    const maxByCreation = expiryIn(
      record.explicitMaxTtl > 0 ? record.explicitMaxTtl : MAX_RENEWED_LIFETIME_SECONDS,
      Date.parse(record.createdAt),
    );
    const expiresAt = earlier(
      earlier(expiryIn(increment, now), maxByCreation),
      parent?.expiresAt ?? null,
    ) as string;
    const renewedAt = new Date(now).toISOString();
    // Asked last, once everything else holds: the method may end the token (the provider disowned the person).
    const disowned = problem === null ? await this.vouch(record, ctx) : null;
    if (disowned !== null) {
      const revoked = await this.store.tokens.revokeTree(record.accessor);
      this.lines.clear();
      await this.audit.record(ctx, {
        action,
        target,
        outcome: "denied",
        details: { problem: disowned, revoked: revoked.length },
      });
      throw permissionDenied(`${disowned}: the token has ended; sign in again`);
    }
    if (problem !== null || !(await this.store.tokens.renew(record.accessor, expiresAt, renewedAt))) {
      await this.audit.record(ctx, {
        action,
        target,
        outcome: "failed",
        details: { problem: problem ?? "unknown or revoked token" },
      });
      throw badInput(problem ?? "token not found");
    }
    this.lines.clear();
    await this.audit.record(ctx, { action, target, outcome: "allowed", details: { expires_at: expiresAt } });
    return { ...record, expiresAt, lastRenewalAt: renewedAt };
  }

  /** The token given in a body, alive along its line; otherwise the failure is audited and `refusal` thrown. */
  private async liveToken(
    token: string,
    action: AuditAction,
    ctx: RequestContext,
    refusal: () => Error,
  ): Promise<TokenRecord> {
    const line = await this.lineOf(token);
    const problem = line[0] ? lineProblem(line, this.clock.now()) : "unknown or revoked token";
    if (line[0] && problem === null) return line[0];
    await this.audit.record(ctx, { action, outcome: "failed", details: { problem } });
    throw refusal();
  }

  private async knownAccessor(
    accessor: string,
    action: AuditAction,
    ctx: RequestContext,
  ): Promise<TokenRecord> {
    const record = ACCESSOR.test(accessor) ? await this.store.tokens.findByAccessor(accessor) : null;
    if (record) return record;
    await this.audit.record(ctx, {
      action,
      target: `token:${accessor}`,
      outcome: "failed",
      details: { problem: "unknown accessor" },
    });
    throw badInput("invalid accessor: no token has it (revoked, expired, or mistyped)");
  }

  /**
   * Vault's policies for a new token: those asked for plus `default` (when the maker may give it),
   * or else the maker's own; `root` stands alone; `no_default_policy` takes `default` out.
   */
  private policiesFor(creator: Actor, request: TokenRequest): string[] {
    const asked = (request.policies ?? []).map((policy) => policy.trim()).filter((policy) => policy !== "");
    const addDefault = asked.length > 0 && !request.noDefaultPolicy && this.mayGrant(creator, "default");
    const chosen = [...(asked.length > 0 ? asked : creator.policies), ...(addDefault ? ["default"] : [])];
    const policies = chosen.includes("root") ? ["root"] : [...new Set(chosen)].sort();
    return request.noDefaultPolicy ? policies.filter((policy) => policy !== "default") : policies;
  }

  /** Whether `creator` may give a token this role: every action of it must be its own (root only from root). */
  private mayGrant(creator: Actor, policy: string): boolean {
    if (policy === "root") return creator.policies.includes("root");
    return (BUILT_IN_POLICIES[policy] ?? []).every((action) => isAllowed(creator.policies, action));
  }

  private async refuse(ctx: RequestContext, action: AuditAction, target: string | null, problem: string) {
    await this.audit.record(ctx, { action, target, outcome: "denied", details: { problem } });
  }

  private async mint(
    hmacKey: Buffer,
    fields: Omit<
      TokenRecord,
      "tokenHmac" | "accessor" | "createdAt" | "owner" | "creationTtl" | "lastRenewalAt"
    > & { owner: string | null },
  ): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString("base64url");
    const accessor = randomBytes(18).toString("base64url");
    const createdAt = isoTime(this.clock);
    const record: TokenRecord = {
      ...fields,
      tokenHmac: this.hmac(hmacKey, token),
      accessor,
      createdAt,
      owner: fields.owner ?? `token:${accessor}`,
      creationTtl: fields.expiresAt ? secondsBetween(createdAt, fields.expiresAt) : 0,
      lastRenewalAt: null,
    };
    await this.store.tokens.insert(record);
    return { token, record };
  }

  private async lineOf(presented: string): Promise<TokenRecord[]> {
    if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return [];
    // Looked up by its HMAC: the index compares values an attacker cannot compute, so timing tells nothing.
    const tokenHmac = this.hmac(this.hmacKey(), presented);
    return (
      (await this.lines.getOrLoad(tokenHmac, async () =>
        nonEmpty(await this.store.tokens.findLine(tokenHmac)),
      )) ?? []
    );
  }

  /**
   * Who is asking: the token, alive along its whole line (no parent revoked or expired), with the
   * rights it holds now. A person's login holds the person's roles as they are now, and matches
   * rules as the person and their groups — unless the person must still enrol a second factor,
   * in which case it holds only `mfa-enrolment` and matches no rule. A token a person made holds
   * its own roles (whether its maker still stands behind it is decided with the request: `makerProblem`).
   */
  async resolve(presented: string | undefined): Promise<Resolved> {
    if (!presented) return { problem: "no token" };
    const line = await this.lineOf(presented);
    const [record] = line;
    if (!record) return { problem: "unknown or revoked token" };
    const broken = lineProblem(line, this.clock.now());
    if (broken) return { problem: broken };
    const { tokenHmac: _hmac, ...token } = record;
    if (token.username !== null) {
      const person = await this.identityOf(token.username);
      if (!person) return { problem: "the person was deleted or blocked" };
      return { actor: { ...token, ...person } };
    }
    return { actor: { ...token, principals: [] } };
  }

  /**
   * Why a token a person made (not their login) no longer speaks for them, or null: it holds its
   * own roles, and only while that person is there and still may make tokens.
   */
  async makerProblem(actor: Actor): Promise<string | null> {
    if (actor.username !== null || !actor.owner.startsWith("user:")) return null;
    const person = await this.identityOf(actor.owner.slice("user:".length));
    if (!person) return `the person who made it, ${actor.owner}, was deleted`;
    if (!isAllowed(person.policies, "token.create"))
      return `the person who made it, ${actor.owner}, may no longer make tokens`;
    return null;
  }

  private hmac(key: Buffer, token: string): string {
    return createHmac("sha256", key).update(token, "utf8").digest("hex");
  }
}

/** Why a token line does not hold, or null: each token alive, each parent still there. */
function lineProblem(line: TokenRecord[], now: number): string | null {
  for (const [i, token] of line.entries()) {
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now)
      return i === 0 ? "expired token" : "a token it was made from has expired";
    if (token.parentAccessor !== null && line[i + 1]?.accessor !== token.parentAccessor)
      return "a token it was made from was revoked";
  }
  return null;
}

/** Vault's display name: `token-NAME`, anything but letters, digits and `-` made `-`, one trailing `-` dropped. */
export function vaultDisplayName(name: string): string {
  return `token-${name}`.replace(/[^a-zA-Z0-9-]/g, "-").replace(/-$/, "");
}

/** A number of seconds given for `field`, checked: a whole number from 0 to the longest lifetime. */
function checkedSeconds(seconds: number | undefined, field: string): number | undefined {
  if (seconds === undefined || (Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_TTL_SECONDS))
    return seconds;
  throw badInput(
    `${field} must be seconds or a duration such as 8h, from 0 (none) to ${MAX_TTL_SECONDS} seconds`,
  );
}

const secondsBetween = (from: string, to: string): number =>
  Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));

function expiryIn(seconds: number, now: number): string | null {
  return seconds > 0 ? new Date(now + seconds * 1000).toISOString() : null;
}

/** The earlier of two expiries, null meaning never. */
function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

const nonEmpty = <T>(list: T[]): T[] | null => (list.length > 0 ? list : null);
