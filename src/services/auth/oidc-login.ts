import { createHmac, randomBytes } from "node:crypto";
import * as client from "openid-client";
import type { AuthUrlBody, CallbackQuery } from "../../api/oidc.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { sameSecret } from "../../core/constant-time.js";
import { BreakglassError, badInput } from "../../core/errors.js";
import type { Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import { identityOf } from "../people/people.js";
import type { SecretBox } from "../seal/secret-box.js";
import type { Claims, IdentityOutcome, OidcIdentities } from "./oidc-identities.js";
import {
  isProviderDown,
  type OidcRole,
  type OidcSettings,
  providerProblem,
  providerUnavailable,
  refreshTokenAad,
} from "./oidc-settings.js";
import type { DescribedToken, IssuedToken, TokenService } from "./tokens.js";

/** How long a sign-in may take between auth_url and its callback (Vault's: 10 minutes). */
const STATE_TTL_MS = 10 * 60 * 1000;
/** The path of every OIDC login token: where it came from, as Vault names it. */
export const OIDC_LOGIN_PATH = "auth/oidc/oidc/callback";
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Sign-in with an OpenID provider, as Vault's auth/oidc: auth_url starts it (authorization code
 * with PKCE, a state and a nonce), the callback finishes it (the code exchanged, the ID token
 * verified by openid-client: signature by the provider's keys, issuer, audience, expiry, nonce),
 * and the person gets a short-lived login token whose renewals ask the provider again (OidcRenewal).
 * Every sign-in, allowed or refused, is on the audit log; the state is used once.
 */
export class OidcLogin {
  constructor(
    private readonly store: Store,
    private readonly settings: OidcSettings,
    private readonly identities: OidcIdentities,
    private readonly tokens: TokenService,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly hmacKey: () => Buffer,
    private readonly clock: Clock,
  ) {}

  async authUrl(body: AuthUrlBody, ctx: RequestContext): Promise<string> {
    const config = await this.settings.configOrThrow();
    const roleName = body.role || config.defaultRole;
    if (!roleName) throw badInput("missing role: give role, or an admin sets default_role");
    const role = await this.settings.findRole(roleName);
    if (!role) throw badInput(`role "${roleName}" could not be found`);
    if (!allowedRedirect(body.redirect_uri, role.allowedRedirectUris)) {
      await this.deny(
        ctx,
        `oidc-role:${roleName}`,
        `redirect_uri not allowed by the role: ${body.redirect_uri}`,
        "auth.oidc.start",
      );
      throw badInput("unauthorized redirect_uri: the role's allowed_redirect_uris do not include it");
    }
    const provider = await this.settings.connect(config);
    const state = randomBytes(32).toString("base64url");
    const now = this.clock.now();
    await this.store.oidc.putState({
      stateHmac: this.mac("state", state),
      role: roleName,
      redirectUri: body.redirect_uri,
      clientNonceHmac: body.client_nonce ? this.mac("client-nonce", body.client_nonce) : null,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + STATE_TTL_MS).toISOString(),
    });
    const url = client.buildAuthorizationUrl(provider, {
      redirect_uri: body.redirect_uri,
      scope: ["openid", ...role.scopes.filter((scope) => scope !== "openid")].join(" "),
      state,
      nonce: this.mac("nonce", state),
      code_challenge: await client.calculatePKCECodeChallenge(this.pkceVerifier(state)),
      code_challenge_method: "S256",
    });
    return url.href;
  }

  /** Finishes a sign-in: the person's login token, or a refusal that says why (and is on the record). */
  async callback(
    query: CallbackQuery,
    ctx: RequestContext,
    /** The web UI's end: a sign-in started without a client_nonce is not this browser's (login CSRF). */
    needsClientNonce = false,
  ): Promise<IssuedToken> {
    const taken = await this.store.oidc.takeState(this.mac("state", query.state), isoTime(this.clock));
    if (!taken)
      return this.refuse(
        ctx,
        null,
        "expired or missing OAuth state: the sign-in was used already or took over 10 minutes; start again",
      );
    const target = `oidc-role:${taken.role}`;
    if (needsClientNonce && taken.clientNonceHmac === null)
      return this.refuse(
        ctx,
        target,
        "invalid client_nonce: the sign-in was started without one, not by this browser",
      );
    if (
      taken.clientNonceHmac !== null &&
      !sameSecret(taken.clientNonceHmac, this.mac("client-nonce", query.client_nonce ?? ""))
    )
      return this.refuse(ctx, target, "invalid client_nonce: the sign-in was started by someone else");
    if (query.error)
      return this.refuse(
        ctx,
        target,
        `the provider refused the sign-in: ${query.error}${query.error_description ? `: ${query.error_description}` : ""}`,
      );
    if (!query.code)
      return this.refuse(ctx, target, "no code: the provider sent the browser back without one");
    const role = await this.settings.findRole(taken.role);
    if (!role) return this.refuse(ctx, target, `the role ${taken.role} was removed during the sign-in`);
    const config = await this.settings.configOrThrow();
    const provider = await this.settings.connect(config);
    const issuer = provider.serverMetadata().issuer;
    const answer = new URL(taken.redirectUri);
    answer.search = "";
    answer.searchParams.set("code", query.code);
    answer.searchParams.set("state", query.state);
    // Vault's callback carries no iss: with one provider configured, it can only be that one.
    answer.searchParams.set("iss", query.iss ?? issuer);
    let grant: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      grant = await client.authorizationCodeGrant(provider, answer, {
        pkceCodeVerifier: this.pkceVerifier(query.state),
        expectedState: query.state,
        expectedNonce: this.mac("nonce", query.state),
        idTokenExpected: true,
      });
    } catch (error) {
      if (isProviderDown(error)) {
        await this.deny(ctx, target, `the provider did not answer: ${providerProblem(error)}`);
        throw providerUnavailable(error);
      }
      return this.refuse(ctx, target, `token verification failed: ${providerProblem(error)}`);
    }
    const claims = grant.claims() as Claims | undefined;
    if (!claims) return this.refuse(ctx, target, "token verification failed: no ID token");
    const audienceProblem = boundAudienceProblem(role, claims);
    if (audienceProblem) return this.refuse(ctx, target, `token verification failed: ${audienceProblem}`);
    const subjectKey = `${issuer} ${String(claims.sub)}`;
    let outcome: IdentityOutcome;
    try {
      outcome = await this.identities.personFor(role, claims, subjectKey);
    } catch (error) {
      if (error instanceof BreakglassError && error.code === "OIDC_LOGIN_FAILED")
        return this.refuse(ctx, target, error.message);
      throw error;
    }
    return this.issue(role, claims, subjectKey, outcome, grant.refresh_token ?? null, ctx);
  }

  private async issue(
    role: OidcRole,
    claims: Claims,
    subjectKey: string,
    outcome: IdentityOutcome,
    refreshToken: string | null,
    ctx: RequestContext,
  ): Promise<IssuedToken> {
    const { username } = outcome;
    const identity = await identityOf(this.store, username);
    if (!identity)
      return this.refuse(
        ctx,
        `user:${username}`,
        `user:${username} was deleted or blocked during the sign-in`,
      );
    const issued = await this.tokens.issueLoginToken(username, identity.policies, role.tokenTtlSeconds, {
      path: OIDC_LOGIN_PATH,
      displayName: `oidc-${username}`,
      meta: {
        username,
        role: role.name,
        subject: String(claims.sub),
        issuer: subjectKey.slice(0, subjectKey.lastIndexOf(" ")),
      },
      renewable: true,
    });
    const sealed = refreshToken
      ? this.box.sealSecret(Buffer.from(refreshToken, "utf8"), refreshTokenAad(issued.record.accessor))
      : null;
    await this.store.oidc.putLogin({
      accessor: issued.record.accessor,
      role: role.name,
      username,
      subjectKey,
      refreshCiphertext: sealed?.ciphertext ?? null,
      keyVersion: sealed?.keyVersion ?? null,
      updatedAt: isoTime(this.clock),
    });
    const { tokenHmac: _hmac, ...token } = issued.record;
    await this.audit.record(
      { ...ctx, actor: { ...token, principals: [] } },
      {
        action: "auth.oidc.login",
        target: `user:${username}`,
        outcome: "allowed",
        details: {
          method: "oidc",
          role: role.name,
          subject: subjectKey,
          token: `token:${issued.record.accessor}`,
          policies: identity.policies.join(","),
          created: outcome.created,
          bound: outcome.bound,
          groups_added: outcome.groupsAdded.join(","),
          groups_removed: outcome.groupsRemoved.join(","),
          renewable: sealed !== null,
        },
      },
    );
    return issued;
  }

  private async refuse(ctx: RequestContext, target: string | null, problem: string): Promise<never> {
    await this.deny(ctx, target, problem);
    throw new BreakglassError("OIDC_LOGIN_FAILED", `sign-in failed: ${problem}`);
  }

  private async deny(
    ctx: RequestContext,
    target: string | null,
    problem: string,
    action: "auth.oidc.login" | "auth.oidc.start" = "auth.oidc.login",
  ): Promise<void> {
    await this.audit.record(ctx, { action, target, outcome: "denied", details: { method: "oidc", problem } });
  }

  /** Values derived from the state, so none is stored: the PKCE verifier and the ID token's nonce. */
  private pkceVerifier(state: string): string {
    return this.mac("pkce", state);
  }

  private mac(purpose: string, value: string): string {
    return createHmac("sha256", this.hmacKey())
      .update(`oidc-${purpose}:${value}`, "utf8")
      .digest("base64url");
  }
}

/**
 * A login token from a sign-in is renewed only through the provider: its refresh token is used,
 * and the person's groups follow the provider's answer. A provider that refuses (the person was
 * disabled there, or the session ended) ends the token at once.
 */
export class OidcRenewal {
  constructor(
    private readonly store: Store,
    private readonly settings: OidcSettings,
    private readonly identities: OidcIdentities,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** The tokens service's renewal vouch: null to let a renewal go on, or why the token ends. */
  vouch = async (token: DescribedToken, ctx: RequestContext): Promise<string | null> => {
    if (token.path !== OIDC_LOGIN_PATH || token.username === null) return null;
    const login = await this.store.oidc.findLogin(token.accessor);
    if (!login || login.refreshCiphertext === null || login.keyVersion === null)
      throw badInput("the provider gave this sign-in no refresh token: it is renewed by signing in again");
    const role = await this.settings.findRole(login.role);
    if (!role) return this.disowned(ctx, token, `the role ${login.role} was removed`);
    const provider = await this.settings.connect(await this.settings.configOrThrow());
    await this.box.takeUpKeyVersion(login.keyVersion);
    const refresh = this.box.openSecret(
      login.refreshCiphertext,
      login.keyVersion,
      refreshTokenAad(login.accessor)(login.keyVersion),
    );
    let grant: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      grant = await client.refreshTokenGrant(provider, refresh.toString("utf8"));
    } catch (error) {
      if (isProviderDown(error)) throw providerUnavailable(error);
      return this.disowned(
        ctx,
        token,
        `the identity provider no longer vouches for user:${login.username} (${providerProblem(error)})`,
      );
    } finally {
      refresh.fill(0);
    }
    const claims = grant.claims() as Claims | undefined;
    if (claims && `${provider.serverMetadata().issuer} ${String(claims.sub)}` !== login.subjectKey)
      return this.disowned(ctx, token, "the provider answered for another account");
    const groups = claims
      ? await this.identities.syncGroups(role, login.username, claims)
      : { groupsAdded: [], groupsRemoved: [] };
    const next = grant.refresh_token ?? null;
    const sealed = next
      ? this.box.sealSecret(Buffer.from(next, "utf8"), refreshTokenAad(login.accessor))
      : null;
    await this.store.oidc.putLogin({
      ...login,
      refreshCiphertext: sealed?.ciphertext ?? login.refreshCiphertext,
      keyVersion: sealed?.keyVersion ?? login.keyVersion,
      updatedAt: isoTime(this.clock),
    });
    await this.audit.record(ctx, {
      action: "auth.oidc.renew",
      target: `user:${login.username}`,
      outcome: "allowed",
      details: {
        method: "oidc",
        subject: login.subjectKey,
        groups_added: groups.groupsAdded.join(","),
        groups_removed: groups.groupsRemoved.join(","),
      },
    });
    return null;
  };

  private async disowned(ctx: RequestContext, token: DescribedToken, problem: string): Promise<string> {
    await this.store.oidc.deleteLogin(token.accessor);
    await this.audit.record(ctx, {
      action: "auth.oidc.renew",
      target: `user:${token.username}`,
      outcome: "denied",
      details: { method: "oidc", problem },
    });
    return problem;
  }
}

/** Vault's bound_audiences: when set, the ID token's audience must include one of them. */
function boundAudienceProblem(role: OidcRole, claims: Claims): string | null {
  if (role.boundAudiences.length === 0) return null;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  return aud.some((value) => role.boundAudiences.includes(String(value)))
    ? null
    : `the ID token's audience (${aud.join(", ")}) is none of the role's bound_audiences`;
}

/** Vault's rule (RFC 8252 §7.3): a loopback redirect matches whatever its port; any other exactly. */
export function allowedRedirect(uri: string, allowed: string[]): boolean {
  if (!URL.canParse(uri)) return false;
  const given = new URL(uri);
  if (!LOOPBACK_HOSTS.has(given.hostname)) return allowed.includes(uri);
  given.port = "";
  return allowed.some((entry) => {
    if (!URL.canParse(entry)) return false;
    const candidate = new URL(entry);
    candidate.port = "";
    return candidate.href === given.href;
  });
}
