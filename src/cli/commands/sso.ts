import type { Command } from "commander";
import type { OidcConfigBody, OidcRoleBody } from "../../api/oidc.js";
import { commaList, contextOf, listNames } from "../command-context.js";
import { emit, table, usageError } from "../output.js";
import { readSecret } from "../secret-input.js";

interface ConfigData {
  oidc_discovery_url: string;
  oidc_client_id: string;
  has_client_secret: boolean;
  default_role: string;
}

/** A provider group mapped to a breakglass group, as `--map PROVIDER_GROUP=GROUP`. */
function mapping(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.lastIndexOf("=");
  if (at <= 0 || at === text.length - 1) throw usageError(`--map takes PROVIDER_GROUP=GROUP, not ${text}`);
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Sign-in with the organisation's OpenID provider (docs/sso.md): what admins set up. */
export function registerSso(program: Command): void {
  const sso = program
    .command("sso")
    .description(
      "sign-in with your identity provider (OIDC): the provider and the roles sign-ins go through",
    );

  sso
    .command("config")
    .description(
      "set the provider: its issuer URL and this client's id; the client secret is prompted (or read from stdin), never a flag",
    )
    .requiredOption(
      "--discovery-url <url>",
      "the provider's issuer, e.g. https://sso.acme.example/realms/acme",
    )
    .requiredOption("--client-id <id>", "breakglass's client id at the provider")
    .option("--default-role <name>", "the role a sign-in uses when it names none")
    .option("--public-client", "the client has no secret (PKCE only)")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const secret = options.publicClient ? undefined : await readSecret(undefined, "client secret");
      const body = {
        oidc_discovery_url: options.discoveryUrl,
        oidc_client_id: options.clientId,
        ...(secret ? { oidc_client_secret: secret } : {}),
        ...(options.defaultRole ? { default_role: options.defaultRole } : {}),
      } satisfies OidcConfigBody;
      await ctx.client.call("POST", "/v1/auth/oidc/config", { body });
      emit(
        ctx,
        { discovery_url: body.oidc_discovery_url, client_id: body.oidc_client_id },
        () =>
          `Provider set: ${body.oidc_discovery_url} (its discovery document was read), client ${body.oidc_client_id}.`,
      );
    });

  sso
    .command("role")
    .description(
      "create or replace a sign-in role: who the person is, which groups map, how long a login lasts",
    )
    .argument("<name>")
    .requiredOption(
      "--user-claim <claim>",
      "the ID token claim holding the username, e.g. preferred_username",
    )
    .requiredOption(
      "--redirect-uri <url>",
      "where the provider may send the browser back (repeat it): https://HOST/ui/oidc/callback for the web UI, http://localhost:8250/oidc/callback for the CLI",
      collect,
    )
    .option("--groups-claim <claim>", "the claim listing the provider's groups, e.g. groups")
    .option(
      "--map <provider=group>",
      "a provider group whose members are in a breakglass group (repeat it)",
      mapping,
    )
    .option("--scopes <list>", "comma-separated scopes to ask for besides openid", commaList)
    .option("--policies <list>", "comma-separated roles of the people this role creates", commaList)
    .option("--create-users", "create a person at their first sign-in (default: only existing people)")
    .option(
      "--ttl <duration>",
      "how long a login lasts before it is renewed through the provider (default 1h)",
    )
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const body = {
        user_claim: options.userClaim,
        allowed_redirect_uris: options.redirectUri,
        ...(options.groupsClaim ? { groups_claim: options.groupsClaim } : {}),
        ...(options.map ? { group_mappings: options.map } : {}),
        ...(options.scopes ? { oidc_scopes: options.scopes } : {}),
        ...(options.policies ? { token_policies: options.policies } : {}),
        ...(options.createUsers ? { create_users: true } : {}),
        ...(options.ttl ? { token_ttl: options.ttl } : {}),
      } satisfies OidcRoleBody;
      await ctx.client.call("POST", `/v1/auth/oidc/role/${encodeURIComponent(name)}`, { body });
      emit(ctx, { name, ...body }, () => `Sign-in role ${name} set.`);
    });

  sso
    .command("show")
    .description("the provider's settings (never the secret) and the sign-in roles")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const config = await ctx.client.data<ConfigData>("GET", "/v1/auth/oidc/config");
      const roles = await listNames(ctx.client, "/v1/auth/oidc/role");
      emit(ctx, { ...config, roles }, (data) =>
        table([
          ["Provider", data.oidc_discovery_url],
          ["Client id", data.oidc_client_id],
          ["Client secret", data.has_client_secret ? "set (sealed)" : "none (public client)"],
          ["Default role", data.default_role || "-"],
          ["Roles", data.roles.join(", ") || "-"],
        ]),
      );
    });
}
