import { type Command, Option } from "commander";
import type { LoginBody } from "../../api/people.js";
import { type CommandContext, contextOf } from "../command-context.js";
import { emit, usageError } from "../output.js";
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
      new Option("--method <method>", "token, or userpass for a username and password")
        .choices(["token", "userpass"])
        .default("token"),
    )
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
  const { client_token: token, ...auth } = (body as { auth: LoginAuth }).auth;
  const path = saveToken(token);
  emit(ctx, auth, (data) => [
    `Logged in as ${data.metadata?.username ?? username} (policies: ${data.policies.join(", ") || "none"}), ${
      data.lease_duration > 0
        ? `token expires in ${formatDuration(data.lease_duration)}`
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
