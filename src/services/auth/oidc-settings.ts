import * as client from "openid-client";
import type { OidcConfigBody, OidcRoleBody } from "../../api/oidc.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { durationSeconds } from "../../core/durations.js";
import { BreakglassError, badInput, notFound } from "../../core/errors.js";
import { checkGroupName, checkUsername } from "../../core/people.js";
import { checkPolicies } from "../../core/policy.js";
import type { OidcConfigRecord, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { SecretBox } from "../seal/secret-box.js";

/** A sign-in's token lives this long unless its role says otherwise (issue: short-lived, renewed through the provider). */
export const DEFAULT_OIDC_TOKEN_TTL_SECONDS = 3600;
const LONGEST_OIDC_TOKEN_TTL_SECONDS = 24 * 3600;
/** How long the provider may take to answer one request before it counts as down. */
const PROVIDER_TIMEOUT_SECONDS = 10;

export const clientSecretAad = (_id: string) => (keyVersion: number) => `oidc_config/1/v${keyVersion}`;
export const refreshTokenAad = (accessor: string) => (keyVersion: number) =>
  `oidc_logins/${accessor}/v${keyVersion}`;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const isLoopback = (url: URL) => LOOPBACK_HOSTS.has(url.hostname);

/** A role as checked and stored: every field has its value. */
export interface OidcRole {
  name: string;
  userClaim: string;
  groupsClaim: string | null;
  boundAudiences: string[];
  allowedRedirectUris: string[];
  scopes: string[];
  tokenTtlSeconds: number;
  tokenPolicies: string[];
  createUsers: boolean;
  /** Provider group → breakglass group. */
  groupMappings: Record<string, string>;
}

/** The provider's settings as shown: never the client secret. */
export interface OidcConfigView {
  discoveryUrl: string;
  clientId: string;
  hasClientSecret: boolean;
  defaultRole: string;
  updatedAt: string;
}

/**
 * The OpenID provider and the roles sign-ins go through (Vault's auth/oidc/config and role/NAME),
 * written by admins and audited; and a connection to the provider, made afresh for each sign-in so
 * a provider's key rotation is taken up at once (its discovery document and keys are fetched then).
 */
export class OidcSettings {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async writeConfig(body: OidcConfigBody, ctx: RequestContext): Promise<void> {
    const discoveryUrl = checkedDiscoveryUrl(body.oidc_discovery_url);
    if (body.default_role) checkUsername(body.default_role); // role names follow the rule of usernames
    const secret = body.oidc_client_secret ? Buffer.from(body.oidc_client_secret, "utf8") : null;
    // As Vault: a configuration whose provider cannot be discovered is refused when written.
    await discover(discoveryUrl, body.oidc_client_id, body.oidc_client_secret ?? null).catch((error) => {
      throw badInput(`the provider's discovery document could not be read: ${providerProblem(error)}`);
    });
    const sealed = secret ? this.box.sealSecret(secret, clientSecretAad("1")) : null;
    secret?.fill(0);
    await this.audit.record(ctx, {
      action: "auth.oidc.configure",
      target: "oidc:config",
      outcome: "allowed",
      details: {
        discovery_url: discoveryUrl.href,
        client_id: body.oidc_client_id,
        client_secret: sealed !== null,
        default_role: body.default_role ?? "",
      },
    });
    await this.store.oidc.putConfig({
      discoveryUrl: discoveryUrl.href,
      clientId: body.oidc_client_id,
      clientSecretCiphertext: sealed?.ciphertext ?? null,
      keyVersion: sealed?.keyVersion ?? null,
      defaultRole: body.default_role ?? "",
      updatedAt: isoTime(this.clock),
    });
  }

  async readConfig(): Promise<OidcConfigView> {
    const config = await this.store.oidc.readConfig();
    if (!config) throw notFound("sign-in with an OpenID provider is not configured: write auth/oidc/config");
    return {
      discoveryUrl: config.discoveryUrl,
      clientId: config.clientId,
      hasClientSecret: config.clientSecretCiphertext !== null,
      defaultRole: config.defaultRole,
      updatedAt: config.updatedAt,
    };
  }

  async writeRole(name: string, body: OidcRoleBody, ctx: RequestContext): Promise<void> {
    const role = await this.checkedRole(name, body);
    await this.audit.record(ctx, {
      action: "auth.oidc.configure",
      target: `oidc-role:${name}`,
      outcome: "allowed",
      details: {
        user_claim: role.userClaim,
        groups_claim: role.groupsClaim,
        token_policies: role.tokenPolicies.join(","),
        create_users: role.createUsers,
        group_mappings: JSON.stringify(role.groupMappings),
        token_ttl: role.tokenTtlSeconds,
      },
    });
    const { name: _name, ...spec } = role;
    await this.store.oidc.putRole({ name, spec: JSON.stringify(spec), updatedAt: isoTime(this.clock) });
  }

  async deleteRole(name: string, ctx: RequestContext): Promise<void> {
    await this.audit.record(ctx, {
      action: "auth.oidc.configure",
      target: `oidc-role:${name}`,
      outcome: "allowed",
      details: { deleted: true },
    });
    await this.store.oidc.deleteRole(name);
  }

  listRoles(): Promise<string[]> {
    return this.store.oidc.listRoleNames();
  }

  /** A role as stored, or null. */
  async findRole(name: string): Promise<OidcRole | null> {
    const record = await this.store.oidc.findRole(name);
    return record ? { name, ...(JSON.parse(record.spec) as Omit<OidcRole, "name">) } : null;
  }

  async readRole(name: string): Promise<OidcRole> {
    const role = await this.findRole(name);
    if (!role) throw notFound(`no role named ${name}`);
    return role;
  }

  /** The stored provider settings, or a clear refusal when there are none. */
  async configOrThrow(): Promise<OidcConfigRecord> {
    const config = await this.store.oidc.readConfig();
    if (!config)
      throw new BreakglassError(
        "OIDC_LOGIN_FAILED",
        "OIDC login is not configured: an admin writes auth/oidc/config",
      );
    return config;
  }

  /** A connection to the provider, its discovery document and keys fetched now. */
  async connect(config: OidcConfigRecord): Promise<client.Configuration> {
    let secret: Buffer | null = null;
    if (config.clientSecretCiphertext && config.keyVersion !== null) {
      await this.box.takeUpKeyVersion(config.keyVersion);
      secret = this.box.openSecret(
        config.clientSecretCiphertext,
        config.keyVersion,
        clientSecretAad("1")(config.keyVersion),
      );
    }
    try {
      return await discover(new URL(config.discoveryUrl), config.clientId, secret?.toString("utf8") ?? null);
    } catch (error) {
      throw providerUnavailable(error);
    } finally {
      secret?.fill(0);
    }
  }

  private async checkedRole(name: string, body: OidcRoleBody): Promise<OidcRole> {
    checkUsername(name); // role names follow the same rule as usernames
    const ttl = durationSeconds(body.token_ttl) ?? DEFAULT_OIDC_TOKEN_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > LONGEST_OIDC_TOKEN_TTL_SECONDS)
      throw badInput(`token_ttl must be from 60 seconds to ${LONGEST_OIDC_TOKEN_TTL_SECONDS} seconds (24h)`);
    for (const uri of body.allowed_redirect_uris) {
      const parsed = URL.canParse(uri) ? new URL(uri) : null;
      if (
        !parsed ||
        !["http:", "https:"].includes(parsed.protocol) ||
        (parsed.protocol === "http:" && !isLoopback(parsed))
      )
        throw badInput(`allowed_redirect_uris: ${uri} is not an https URL (or http on a loopback address)`);
    }
    const policies = body.token_policies ?? [];
    checkPolicies(policies);
    if (policies.includes("root")) throw badInput("token_policies: a sign-in can never be root");
    const mappings = body.group_mappings ?? {};
    const groups = new Set((await this.store.listGroups()).map((group) => group.name));
    for (const group of new Set(Object.values(mappings))) {
      checkGroupName(group);
      if (!groups.has(group))
        throw badInput(`group_mappings: no group named ${group}: create the group first`);
    }
    return {
      name,
      userClaim: body.user_claim,
      groupsClaim: body.groups_claim || null,
      boundAudiences: body.bound_audiences ?? [],
      allowedRedirectUris: body.allowed_redirect_uris,
      scopes: body.oidc_scopes ?? [],
      tokenTtlSeconds: ttl,
      tokenPolicies: policies,
      createUsers: body.create_users ?? false,
      groupMappings: mappings,
    };
  }
}

/** The provider's discovery URL: https, or http on a loopback address (a provider on this machine). */
function checkedDiscoveryUrl(text: string): URL {
  const url = URL.canParse(text) ? new URL(text) : null;
  if (!url || !(url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url))))
    throw badInput("oidc_discovery_url must be an https URL (http only on a loopback address)");
  return url;
}

async function discover(url: URL, clientId: string, secret: string | null): Promise<client.Configuration> {
  return client.discovery(
    url,
    clientId,
    undefined,
    secret === null ? client.None() : client.ClientSecretBasic(secret),
    {
      timeout: PROVIDER_TIMEOUT_SECONDS,
      ...(url.protocol === "http:" ? { execute: [client.allowInsecureRequests] } : {}),
    },
  );
}

const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|UND_ERR)/;

/** Whether a failure talking to the provider is the provider (or the way to it) being down. */
export function isProviderDown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "TimeoutError" || error.name === "AbortError" || error.message === "fetch failed")
    return true;
  const { cause, status } = error as Error & { cause?: unknown; status?: unknown };
  if (typeof status === "number" && status >= 500) return true;
  const code = cause !== null && typeof cause === "object" && "code" in cause ? cause.code : undefined;
  return (typeof code === "string" && NETWORK_CODES.test(code)) || isProviderDown(cause);
}

/** What went wrong with the provider, in words fit for the caller and the log: never a token. */
export function providerProblem(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const body = error as { error?: unknown; error_description?: unknown };
  if (typeof body.error === "string")
    return `the provider answered ${body.error}${typeof body.error_description === "string" ? `: ${body.error_description}` : ""}`;
  if (isProviderDown(error)) return "the provider did not answer";
  // openid-client names the kind of failure; its cause says which claim or check (never a value).
  const cause =
    error.cause instanceof Error && error.cause.message !== error.message ? error.cause.message : null;
  return cause ? `${error.message}: ${cause}` : error.message;
}

export function providerUnavailable(error: unknown): BreakglassError {
  return isProviderDown(error)
    ? new BreakglassError(
        "PROVIDER_UNAVAILABLE",
        `the identity provider cannot be reached: ${providerProblem(error)}; retry shortly`,
      )
    : new BreakglassError(
        "OIDC_LOGIN_FAILED",
        `the identity provider's discovery document could not be used: ${providerProblem(error)}`,
      );
}
