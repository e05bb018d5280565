import type { Command } from "commander";
import { commaList, contextOf, wholeNumber } from "../command-context.js";
import { emit } from "../output.js";
import { readSecret } from "../secret-input.js";
import { registerCeremonies } from "./operator-ceremonies.js";
import { registerOperatorKeys } from "./operator-keys.js";
import { describeShares, readKeyFile } from "./operator-shares.js";
import type { SealStatus } from "./status.js";

interface InitResponse {
  keys: string[];
  keys_base64: string[];
  root_token: string;
  custodians?: string[];
}

export function registerOperator(program: Command): void {
  const operator = program.command("operator").description("initialise, unseal and seal the server");

  operator
    .command("init")
    .description("create the root key, split it into shares and print them with a root token, once")
    .requiredOption("--shares <n>", "number of unseal key shares", wholeNumber)
    .requiredOption("--threshold <k>", "shares needed to unseal", wholeNumber)
    .option("--pgp-keys <files>", "comma-separated OpenPGP public key files, one per share, in order")
    .option("--root-token-pgp-key <file>", "an OpenPGP public key file to encrypt the root token to")
    .option(
      "--custodians <names>",
      "comma-separated custodian names, one per share, in order (drills name them)",
    )
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const pgpFiles: string[] = options.pgpKeys ? commaList(options.pgpKeys) : [];
      const body = {
        secret_shares: options.shares,
        secret_threshold: options.threshold,
        ...(pgpFiles.length > 0 ? { pgp_keys: pgpFiles.map(readKeyFile) } : {}),
        ...(options.rootTokenPgpKey ? { root_token_pgp_key: readKeyFile(options.rootTokenPgpKey) } : {}),
        ...(options.custodians ? { custodians: commaList(options.custodians) } : {}),
      };
      const init = await ctx.client.data<InitResponse>("PUT", "/v1/sys/init", { body });
      emit(ctx, init, (data) =>
        describeInit(data, pgpFiles, options.threshold, Boolean(options.rootTokenPgpKey)),
      );
    });

  operator
    .command("unseal")
    .description("give one unseal key share (prompted without echo when omitted; '-' reads stdin)")
    .argument("[share]", "the share, hex or base64 (as `gpg -d` prints it), or - for stdin")
    .option("--reset", "forget the shares given so far")
    .action(async (share: string | undefined, options, command: Command) => {
      const ctx = contextOf(command);
      const body = options.reset ? { reset: true } : { key: await readSecret(share, "unseal key share") };
      const status = await ctx.client.data<SealStatus>("PUT", "/v1/sys/unseal", { body });
      emit(ctx, status, (data) =>
        data.sealed ? `Unseal progress: ${data.progress}/${data.t}` : "Unsealed.",
      );
    });

  operator
    .command("seal")
    .description("seal now: the server drops every key from memory (root token)")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("PUT", "/v1/sys/seal");
      emit(ctx, { sealed: true }, () => "Sealed.");
    });

  registerOperatorKeys(operator);
  registerCeremonies(operator);
}

function describeInit(init: InitResponse, pgpFiles: string[], threshold: number, tokenEncrypted: boolean) {
  const lines = describeShares(init.keys, init.keys_base64, pgpFiles, init.custodians);
  lines.push("", `Root Token${tokenEncrypted ? " (encrypted)" : ""}: ${init.root_token}`, "");
  lines.push(
    `The server is initialised and sealed. Give each unseal key to a different custodian: ${threshold} of them unseal it.`,
    "These keys and the root token are shown only this once.",
  );
  return lines;
}
