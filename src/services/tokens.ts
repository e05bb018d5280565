import { createHmac, randomBytes } from "node:crypto";
import { sameSecret } from "../core/constant-time.js";
import { badInput, permissionDenied } from "../core/errors.js";
import { type Action, checkPolicies, isAllowed } from "../core/policy.js";
import type { Store, TokenRecord } from "../store/store.js";
import type { AuditLog } from "./audit.js";
import type { Actor, RequestContext } from "./context.js";
import type { RefusalFlood } from "./refusal-flood.js";
import { TtlCache } from "./ttl-cache.js";

const TOKEN_PREFIX = "bgs.";
const TOKEN_BYTES = 32;
const TOKEN_CACHE_MS = 1_000; // a revocation on another node is in force here within this
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
const SESSION_TTL_SECONDS = 8 * 3600;

export interface TokenRequest {
  policies?: string[];
  displayName?: string;
  meta?: Record<string, string>;
  ttlSeconds?: number;
  noParent?: boolean;
  /** Set for tokens issued at a user's login. */
  username?: string;
}

export interface IssuedToken {
  token: string;
  record: TokenRecord;
}

/**
 * API tokens: 32 random bytes, shown once; the store keeps only an HMAC of them under a key
 * from the keyring. Also the single place where access is decided (`authorize`).
 */
export class TokenService {
  private readonly cache = new TtlCache<TokenRecord>(TOKEN_CACHE_MS);

  /** Every token is this long (the prefix and 32 random bytes in base64url): a root token's pad matches it. */
  readonly tokenLength = TOKEN_PREFIX.length + Math.ceil((TOKEN_BYTES * 4) / 3);

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly hmacKey: () => Buffer,
    /** The roles a person holds now (their own and their groups'), or null when they are gone. */
    private readonly rolesOf: (username: string) => Promise<string[] | null>,
    /** Where refusals of callers without a valid token are audited: one by one, or counted as a flood. */
    private readonly refusals: RefusalFlood,
  ) {}

  /** The root token of `init`; it is created while sealed, so the HMAC key is passed in. */
  async issueRootToken(hmacKey: Buffer): Promise<string> {
    const issued = await this.mint(hmacKey, { policies: ["root"], displayName: "root" }, null);
    return issued.token;
  }

  /** Resolves a presented token to an actor; every refusal is on the audit log. */
  async authenticate(presented: string | undefined, ctx: RequestContext, action: string): Promise<Actor> {
    const resolved = await this.resolve(presented);
    if ("actor" in resolved) return resolved.actor;
    await this.refusals.record(ctx, { action, outcome: "denied", details: { problem: resolved.problem } });
    throw permissionDenied();
  }

  /**
   * Who is asking, on an endpoint that needs no token (as in Vault): the actor of a valid token,
   * else null. Only names the caller on the record; it never grants anything.
   */
  async identify(presented: string | undefined): Promise<Actor | null> {
    const resolved = await this.resolve(presented);
    return "actor" in resolved ? resolved.actor : null;
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
    action: string,
  ): Promise<void> {
    if (sameSecret(this.csrfTokenOf(token), presented ?? "")) return;
    await this.refusals.record(ctx, {
      action,
      outcome: "denied",
      details: { problem: presented ? "wrong CSRF token" : "no CSRF token" },
    });
    throw permissionDenied("missing or wrong CSRF token: reload the page");
  }

  /** The one authorisation decision. Denials are audited before the caller hears of them. */
  async authorize(ctx: RequestContext, action: Action, target: string | null = null): Promise<Actor> {
    const actor = ctx.actor;
    if (actor && isAllowed(actor.policies, action)) return actor;
    await this.audit.record(ctx, {
      action,
      target,
      outcome: "denied",
      details: { problem: "not allowed by policy" },
    });
    throw permissionDenied();
  }

  async create(request: TokenRequest, ctx: RequestContext): Promise<IssuedToken> {
    const creator = await this.authorize(ctx, "token.create");
    const policies = request.policies?.length ? [...new Set(request.policies)] : creator.policies;
    checkPolicies(policies);
    const ttl = request.ttlSeconds;
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 0 && ttl <= MAX_TTL_SECONDS))
      throw badInput(
        `ttl must be seconds or a duration such as 8h, from 0 (no expiry) to ${MAX_TTL_SECONDS} seconds`,
      );
    const issued = await this.mint(
      this.hmacKey(),
      { ...request, policies },
      request.noParent ? null : creator.accessor,
    );
    await this.audit.record(ctx, {
      action: "token.create",
      target: `token:${issued.record.accessor}`,
      outcome: "allowed",
      details: {
        policies: policies.join(","),
        display_name: issued.record.displayName,
        expires_at: issued.record.expiresAt,
      },
    });
    return issued;
  }

  async lookupSelf(ctx: RequestContext): Promise<Actor> {
    const actor = await this.authorize(ctx, "token.self");
    await this.audit.record(ctx, {
      action: "token.lookup-self",
      target: `token:${actor.accessor}`,
      outcome: "allowed",
    });
    return actor;
  }

  async revokeSelf(ctx: RequestContext): Promise<void> {
    const actor = await this.authorize(ctx, "token.self");
    await this.audit.record(ctx, {
      action: "token.revoke-self",
      target: `token:${actor.accessor}`,
      outcome: "allowed",
    });
    await this.store.deleteToken(actor.accessor);
    this.cache.clear();
  }

  /** A token for a user who just logged in (the caller checked the password); it expires. */
  issueLoginToken(username: string, policies: string[], ttlSeconds: number): Promise<IssuedToken> {
    return this.mint(
      this.hmacKey(),
      { username, policies, ttlSeconds, displayName: `userpass-${username}`, meta: { username } },
      null,
    );
  }

  /**
   * A browser session opened with a pasted token: the cookie gets a child of it (same roles, at
   * most 8 hours, never beyond the parent), so signing out ends the session, not the pasted token
   * (the root token, say). Audited as the session's opening.
   */
  async issueSessionToken(ctx: RequestContext): Promise<IssuedToken> {
    const parent = await this.authorize(ctx, "token.self");
    const parentLeft = parent.expiresAt
      ? Math.floor((Date.parse(parent.expiresAt) - Date.now()) / 1000)
      : null;
    const ttlSeconds = Math.max(1, Math.min(SESSION_TTL_SECONDS, parentLeft ?? SESSION_TTL_SECONDS));
    const issued = await this.mint(
      this.hmacKey(),
      {
        policies: parent.policies,
        username: parent.username ?? undefined,
        displayName: parent.displayName, // the person sees who they are; the audit entry names the parent
        meta: parent.meta,
        ttlSeconds,
      },
      parent.accessor,
    );
    await this.audit.record(ctx, {
      action: "ui.session.open",
      target: `token:${issued.record.accessor}`,
      outcome: "allowed",
      details: { parent: parent.accessor, expires_at: issued.record.expiresAt },
    });
    return issued;
  }

  /** Ends every token of a user (deleted, or their password changed), on this node at once. */
  async revokeTokensOf(username: string): Promise<void> {
    await this.store.deleteTokensOfUser(username);
    this.cache.clear();
  }

  private async mint(
    hmacKey: Buffer,
    request: TokenRequest,
    parentAccessor: string | null,
  ): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString("base64url");
    const now = new Date();
    const ttl = request.ttlSeconds ?? 0;
    const record: TokenRecord = {
      tokenHmac: this.hmac(hmacKey, token),
      accessor: randomBytes(18).toString("base64url"),
      displayName: request.displayName ?? "token",
      policies: request.policies ?? ["default"],
      meta: request.meta ?? {},
      parentAccessor,
      createdAt: now.toISOString(),
      expiresAt: ttl > 0 ? new Date(now.getTime() + ttl * 1000).toISOString() : null,
      username: request.username ?? null,
    };
    await this.store.insertToken(record);
    return { token, record };
  }

  private async resolve(presented: string | undefined): Promise<{ actor: Actor } | { problem: string }> {
    if (!presented) return { problem: "no token" };
    if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return { problem: "malformed token" };
    // Looked up by its HMAC: the index compares values an attacker cannot compute, so timing tells nothing.
    const tokenHmac = this.hmac(this.hmacKey(), presented);
    const record = await this.cache.getOrLoad(tokenHmac, () => this.store.findToken(tokenHmac));
    if (!record) return { problem: "unknown or revoked token" };
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now())
      return { problem: "expired token" };
    const { tokenHmac: _hmac, ...actor } = record;
    if (actor.username === null) return { actor };
    // A person's token carries the roles they hold now: a role or group taken away counts at once.
    const roles = await this.rolesOf(actor.username);
    if (roles === null) return { problem: "the user was deleted" };
    return { actor: { ...actor, policies: roles } };
  }

  private hmac(key: Buffer, token: string): string {
    return createHmac("sha256", key).update(token, "utf8").digest("hex");
  }
}
