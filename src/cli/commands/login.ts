import { randomBytes } from "node:crypto";
import { type Command, Option } from "commander";
import type { AuthUrlBody, CallbackQuery } from "../../api/oidc.js";
import type { LoginBody } from "../../api/people.js";
import { type CommandContext, contextOf } from "../command-context.js";
import { awaitProviderAnswer, openBrowser } from "../oidc-callback-listener.js";
import { CliError, emit, usageError } from "../output.js";
import { saveToken } from "../saved-token.js";
import { readSecret } from "../secret-input.js";

interface TokenLookup {
  display_name: string;
  policies: string[];
  accessor: string;
}

/** Vault's `auth` block of a login reply. */
interface LoginAuth {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: { username?: string } | null;
  lease_duration: number;
  renewable: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description(
      "check a token (or log in with a password) and save the token for later commands (file mode 0600)",
    )
    .argument(
      "[secret]",
      "the token (with --method userpass, the password), or - for stdin; prompted without echo when omitted",
    )
    .addOption(
      new Option(
        "--method <method>",
        "token; userpass for a username and password; oidc to sign in with your identity provider in a browser",
      )
        .choices(["token", "userpass", "oidc"])
        .default("token"),
    )
    .option("--role <name>", "with --method oidc: the sign-in role (default: the server's default_role)")
    .option(
      "--port <port>",
      "with --method oidc: the loopback port the browser comes back to (http://localhost:PORT/oidc/callback)",
      "8250",
    )
    .option("--no-browser", "with --method oidc: only print the URL to open (a headless terminal)")
    .option("--username <name>", "with --method userpass: who logs in")
    .option(
      "--totp <code>",
      "with --method userpass: the current code of your second factor, when you have one",
    )
    .addHelpText(
      "after",
      "\nThe token is saved in BREAKGLASS_TOKEN_FILE if set, else $XDG_CONFIG_HOME/breakglass/token (default ~/.config/breakglass/token).\nBREAKGLASS_TOKEN, when set, takes precedence over the saved token.",
    )
    .action(async (given: string | undefined, options, command: Command) => {
      if (options.method === "oidc") {
        if (given !== undefined || options.username !== undefined || options.totp !== undefined)
          throw usageError("--method oidc takes no secret, --username or --totp: the provider asks for them");
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw usageError("--port must be a port number");
        return loginWithProvider(contextOf(command), options.role, port, options.browser !== false);
      }
      if (options.method === "userpass") {
        if (!options.username) throw usageError("--method userpass needs --username");
        return loginWithPassword(contextOf(command), options.username, given, options.totp);
      }
      if (options.username !== undefined || options.totp !== undefined)
        throw usageError("--username and --totp go with --method userpass");
      const ctx = contextOf(command);
      const token = await readSecret(given, "token");
      // Checked before saving, so a mistyped token never replaces a good one.
      const self = await ctx.client.data<TokenLookup>("GET", "/v1/auth/token/lookup-self", { token });
      const path = saveToken(token);
      emit(ctx, self, (data) => [
        `Logged in as ${data.display_name || data.accessor} (policies: ${data.policies.join(", ") || "none"}).`,
        `Token saved to ${path}.`,
      ]);
    });
}

/** Vault's userpass login; only a token the server issued is saved, so a wrong password changes nothing. */
async function loginWithPassword(
  ctx: CommandContext,
  username: string,
  given: string | undefined,
  totp: string | undefined,
) {
  if (totp !== undefined && !/^[0-9]{6,8}$/.test(totp))
    throw usageError("--totp must be the 6 or 8 digits of your second factor");
  const password = await readSecret(given, "password");
  // token "" sends none: a login needs no token, and a stale saved one has no business here.
  const { body } = await ctx.client.call("POST", `/v1/auth/userpass/login/${encodeURIComponent(username)}`, {
    body: { password, ...(totp ? { totp } : {}) } satisfies LoginBody,
    token: "",
  });
  saveLogin(ctx, (body as { auth: LoginAuth }).auth, username);
}

/**
 * Vault's `login -method=oidc`: auth_url for a loopback redirect, the browser opened (or the URL
 * printed), and the provider's answer handed to the callback with the client_nonce only this
 * process knows. Only a token the server issued is saved.
 */
async function loginWithProvider(
  ctx: CommandContext,
  role: string | undefined,
  port: number,
  browser: boolean,
) {
  const clientNonce = randomBytes(20).toString("base64url");
  let auth: LoginAuth | undefined;
  await awaitProviderAnswer(
    port,
    async (redirectUri) => {
      const { auth_url: url } = await ctx.client.data<{ auth_url: string }>(
        "POST",
        "/v1/auth/oidc/oidc/auth_url",
        {
          body: {
            redirect_uri: redirectUri,
            client_nonce: clientNonce,
            ...(role ? { role } : {}),
          } satisfies AuthUrlBody,
          token: "",
        },
      );
      if (!url) throw new CliError("the server gave no sign-in URL: check the role's allowed_redirect_uris");
      const opened = browser && openBrowser(url);
      process.stderr.write(
        `${opened ? "Complete the sign-in in your browser. If it did not open, visit" : "Complete the sign-in: open this URL in a browser"}:\n\n    ${url}\n\nWaiting for the browser to come back to ${redirectUri} ...\n`,
      );
    },
    async (answer) => {
      const { body } = await ctx.client.call("GET", "/v1/auth/oidc/oidc/callback", {
        query: { ...answer, client_nonce: clientNonce } satisfies CallbackQuery,
        token: "",
      });
      auth = (body as { auth: LoginAuth }).auth;
      return `Signed in to breakglass as ${auth.metadata?.username ?? "you"}.`;
    },
  );
  if (!auth) throw new CliError("the sign-in ended without a token");
  saveLogin(ctx, auth, "you");
}

/** Saves a login's token and says who it is and how long it lasts. */
function saveLogin(ctx: CommandContext, { client_token: token, ...auth }: LoginAuth, fallbackName: string) {
  const path = saveToken(token);
  emit(ctx, auth, (data) => [
    `Logged in as ${data.metadata?.username ?? fallbackName} (policies: ${data.policies.join(", ") || "none"}), ${
      data.lease_duration > 0
        ? `token expires in ${formatDuration(data.lease_duration)}${data.renewable ? " (renewable)" : ""}`
        : "token does not expire"
    }.`,
    `Token saved to ${path}.`,
  ]);
}

/** "8h", "1h30m", "45s": the units that are not zero; to the minute from an hour up. */
function formatDuration(exactSeconds: number): string {
  const seconds = exactSeconds >= 3600 ? Math.round(exactSeconds / 60) * 60 : exactSeconds;
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor((seconds % 86_400) / 3600), "h"],
    [Math.floor((seconds % 3600) / 60), "m"],
    [seconds % 60, "s"],
  ];
  return parts
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount}${unit}`)
    .join("");
}
