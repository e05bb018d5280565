import type { Command } from "commander";
import { contextOf } from "../command-context.js";
import { emit } from "../output.js";
import { saveToken } from "../saved-token.js";
import { readSecret } from "../secret-input.js";

interface TokenLookup {
  display_name: string;
  policies: string[];
  accessor: string;
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("check a token with the server and save it for later commands (file mode 0600)")
    .argument("[token]", "the token, or - for stdin; prompted without echo when omitted")
    .addHelpText(
      "after",
      "\nThe token is saved in $XDG_CONFIG_HOME/breakglass/token (default ~/.config/breakglass/token).\nBREAKGLASS_TOKEN, when set, takes precedence over the saved token.",
    )
    .action(async (given: string | undefined, _options, command: Command) => {
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
