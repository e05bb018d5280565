import type { Command } from "commander";
import type { ShareBody } from "../../api/custody.js";
import { decodeWithPad } from "../../core/one-time-pad.js";
import { type CommandContext, commaList, contextOf, wholeNumber } from "../command-context.js";
import { createPrivateFile } from "../local-files.js";
import { CliError, emit, table } from "../output.js";
import { readSecret } from "../secret-input.js";
import { describeShares, readKeyFile } from "./operator-shares.js";

/**
 * Quorum ceremonies from the CLI: `init` (start), `submit` (one share each, prompted without
 * echo), `status`, `cancel`; rekey and generate-root as Vault's, seed export as breakglass's own.
 */

interface Progress {
  started: boolean;
  nonce: string;
  started_by?: {
    actor: string;
    display_name: string | null;
    remote_addr: string | null;
    user_agent: string | null;
    time: string;
  } | null;
  progress: number;
  required: number;
  complete: boolean;
  custodians_given?: (string | null)[];
  custodians_missing?: string[];
  [field: string]: unknown;
}

interface Ceremony {
  command: string;
  description: string;
  /** The API path of init/attempt, and of update. */
  startPath: string;
  updatePath: string;
  /** What the custodian is shown before giving their share. */
  describe(progress: Progress): [string, string | number | boolean][];
  /** The answer to the last share: what to print. */
  completed(ctx: CommandContext, result: Progress, options: Record<string, string | undefined>): void;
  submitOptions?: (command: Command) => Command;
}

export function registerCeremonies(operator: Command): void {
  const rekey = registerCeremony(operator, {
    command: "rekey",
    description:
      "new shares (counts, PGP keys, custodians) from a quorum of the current ones; the old ones stop working",
    startPath: "/v1/sys/rekey/init",
    updatePath: "/v1/sys/rekey/update",
    describe: (p) => [
      ["New shares", `${p.t} of ${p.n}`],
      ["New custodians", ((p.custodians as string[] | undefined) ?? []).join(", ") || "-"],
      [
        "Encrypted to",
        ((p.pgp_fingerprints as string[] | null | undefined) ?? []).join(", ") ||
          "nothing: the new shares come back in clear",
      ],
      [
        "Custodians given",
        (p.custodians_given ?? []).map((name) => name ?? "(unrecorded)").join(", ") || "-",
      ],
      ["Custodians missing", (p.custodians_missing ?? []).join(", ") || "-"],
    ],
    completed: (ctx, result) =>
      emit(ctx, result, (data) => [
        ...describeShares(
          data.keys as string[],
          data.keys_base64 as string[],
          (data.pgp_fingerprints as string[] | null) ?? [], // null: not encrypted (Vault's shape)
          data.custodians as string[],
        ),
        "",
        "Rekeyed: the old shares no longer unseal. Each custodian should run a drill with their new share:",
        "  breakglass custodians drill",
      ]),
  });
  rekey
    .command("init")
    .description("start a rekey to new share counts")
    .requiredOption("--shares <n>", "number of new shares", wholeNumber)
    .requiredOption("--threshold <k>", "new shares needed to unseal", wholeNumber)
    .option("--pgp-keys <files>", "comma-separated OpenPGP public key files, one per new share, in order")
    .option("--custodians <names>", "comma-separated custodian names, one per new share, in order")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const pgpFiles = options.pgpKeys ? commaList(options.pgpKeys) : [];
      const body = {
        secret_shares: options.shares,
        secret_threshold: options.threshold,
        ...(pgpFiles.length > 0 ? { pgp_keys: pgpFiles.map(readKeyFile) } : {}),
        ...(options.custodians ? { custodians: commaList(options.custodians) } : {}),
      };
      const status = await ctx.client.data<Progress>("PUT", "/v1/sys/rekey/init", { body });
      emit(ctx, status, (data) => started(data, "rekey"));
    });

  const generateRoot = registerCeremony(operator, {
    command: "generate-root",
    description: "a new root token from a quorum of shares, when every admin login is lost",
    startPath: "/v1/sys/generate-root/attempt",
    updatePath: "/v1/sys/generate-root/update",
    describe: (p) => [
      [
        "Root token for",
        p.pgp_fingerprint
          ? `PGP key ${p.pgp_fingerprint}`
          : "whoever holds the one-time pad (only the person who started it)",
      ],
    ],
    completed: (ctx, result) =>
      emit(ctx, result, (data) => [
        `Encoded root token: ${data.encoded_token}`,
        "",
        data.pgp_fingerprint
          ? `It is encrypted to PGP key ${data.pgp_fingerprint}: echo TOKEN | base64 -d | gpg -d`
          : "Decode it with the one-time pad shown at init: breakglass operator generate-root decode --otp OTP ENCODED",
      ]),
  });
  generateRoot
    .command("init")
    .description("start a root token generation; prints the one-time pad (keep it: it decodes the token)")
    .option("--pgp-key <file>", "encrypt the token to this OpenPGP public key instead of a one-time pad")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const body = options.pgpKey ? { pgp_key: readKeyFile(options.pgpKey) } : {};
      const status = await ctx.client.data<Progress>("PUT", "/v1/sys/generate-root/attempt", { body });
      emit(ctx, status, (data) => [
        ...started(data, "generate-root"),
        ...(data.otp
          ? ["", `One-time pad (OTP): ${data.otp}`, "Keep it: it is shown only now and decodes the token."]
          : []),
      ]);
    });
  generateRoot
    .command("decode")
    .description(
      "decode a generated root token with its one-time pad, as `vault operator generate-root -decode`",
    )
    .argument("<encoded>", "the encoded token")
    .requiredOption("--otp <otp>", "the one-time pad printed by init")
    .action((encoded: string, options, command: Command) => {
      const ctx = contextOf(command);
      const token = decodeWithPad(encoded, options.otp);
      emit(ctx, { token }, (data) => data.token);
    });

  const exportSeed = registerCeremony(operator, {
    command: "export-seed",
    description:
      "a credential's seed, encrypted to a PGP key, once a quorum of custodians gives their shares",
    startPath: "/v1/sys/export-seed/attempt",
    updatePath: "/v1/sys/export-seed/update",
    describe: (p) => [
      ["Credential", p.name as string],
      ["Encrypted to", p.pgp_fingerprint as string],
      ["Asked by", p.requested_by as string],
    ],
    submitOptions: (command) =>
      command.option(
        "--out <file>",
        "write the encrypted seed to this new file (mode 600) instead of stdout",
      ),
    completed: (ctx, result, options) => {
      const message = result.encrypted_seed as string;
      if (options.out) {
        createPrivateFile(options.out).write(Buffer.from(message));
        emit(
          ctx,
          { complete: true, out: options.out },
          () => `The encrypted seed is in ${options.out}: gpg -d ${options.out}`,
        );
      } else emit(ctx, result, () => message.trimEnd());
    },
  });
  exportSeed
    .command("init")
    .description("ask for a credential's seed (admin token); it leaves only after a quorum of shares")
    .argument("<name>", "the credential")
    .requiredOption("--pgp-key <file>", "the OpenPGP public key the seed is encrypted to")
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const body = { name, pgp_key: readKeyFile(options.pgpKey) };
      const status = await ctx.client.data<Progress>("PUT", "/v1/sys/export-seed/attempt", { body });
      emit(ctx, status, (data) => started(data, "export-seed"));
    });
}

function registerCeremony(operator: Command, ceremony: Ceremony): Command {
  const group = operator.command(ceremony.command).description(ceremony.description);
  group
    .command("status")
    .description("the attempt in progress: nonce, progress, who gave and who is missing")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const status = await ctx.client.data<Progress>("GET", ceremony.startPath);
      emit(ctx, status, (data) => describeProgress(data, ceremony));
    });
  group
    .command("cancel")
    .description("cancel the attempt in progress; the shares given so far are forgotten")
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", ceremony.startPath);
      emit(ctx, { cancelled: true }, () => "Cancelled.");
    });
  const submit = group
    .command("submit")
    .description(
      "give one unseal key share to the attempt whose nonce the person who started it announced to you (prompted without echo when omitted; '-' reads stdin)",
    )
    .argument("[share]", "the share, hex or base64, or - for stdin")
    // Never the current attempt by default: anyone can cancel and start one of their own.
    .requiredOption(
      "--nonce <nonce>",
      "the attempt's nonce, as announced to you by the person who started it",
    );
  (ceremony.submitOptions?.(submit) ?? submit).action(
    async (share: string | undefined, options, command: Command) => {
      const ctx = contextOf(command);
      const current = await ctx.client.data<Progress>("GET", ceremony.startPath);
      if (!current.started) throw new CliError(`no ${ceremony.command} is in progress: start one with init`);
      // Shown before the share is asked for: what the share will be given to, and by whom.
      process.stderr.write(`${describeProgress(current, ceremony).join("\n")}\n`);
      if (current.nonce !== options.nonce.trim())
        throw new CliError(
          `the ${ceremony.command} in progress has nonce ${current.nonce}, not ${options.nonce.trim()}: it is not the attempt you were asked to join (it was restarted, or someone else started it). Do not give your share; tell the team, and check who started it above`,
        );
      const key = await readSecret(share, "unseal key share");
      const result = await ctx.client.data<Progress>("PUT", ceremony.updatePath, {
        body: { key, nonce: current.nonce } satisfies ShareBody,
      });
      if (result.complete) ceremony.completed(ctx, result, options);
      else emit(ctx, result, (data) => `Progress: ${data.progress}/${data.required}`);
    },
  );
  return group;
}

function started(status: Progress, command: string): string[] {
  return [
    `Started. Nonce: ${status.nonce}`,
    "Tell each custodian this nonce yourself (in person, or on a channel you trust): they give their share only to it.",
    `${status.required} custodians now each run: breakglass operator ${command} submit --nonce ${status.nonce}`,
  ];
}

function describeProgress(status: Progress, ceremony: Ceremony): string[] {
  if (!status.started) return [`No ${ceremony.command} is in progress.`];
  const by = status.started_by;
  return table([
    ["Nonce", status.nonce],
    ["Started by", by ? `${by.actor}${by.display_name ? ` (${by.display_name})` : ""}` : "-"],
    [
      "From",
      by ? `${by.remote_addr ?? "an unknown address"}${by.user_agent ? `, ${by.user_agent}` : ""}` : "-",
    ],
    ["At", by?.time ?? "-"],
    ["Progress", `${status.progress}/${status.required}`],
    ...ceremony.describe(status),
  ]);
}
