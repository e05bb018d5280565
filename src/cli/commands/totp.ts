import type { Command } from "commander";
import type { ImportAnswer, KeyMetadataAnswer } from "../../api/totp.js";
import { totpKeyPath } from "../api-paths.js";
import type { BreakglassClient } from "../client.js";
import { contextOf, listNames, upperCase, wholeNumber } from "../command-context.js";
import { readInputFile } from "../local-files.js";
import { emit, table, usageError } from "../output.js";
import { readSecret, readStdin } from "../secret-input.js";
import { registerTotpCode } from "./totp-code.js";
import { registerTotpGenerate } from "./totp-generate.js";

export function registerTotp(program: Command): void {
  const totp = program.command("totp").description("TOTP keys: store seeds (write-only) and read codes");
  registerTotpAdd(totp);
  registerTotpGenerate(totp);
  registerTotpCode(totp);
  registerTotpKeyQueries(totp);
  registerTotpImport(totp);
}

function registerTotpAdd(totp: Command): void {
  totp
    .command("add")
    .description("store an existing seed under NAME; it can never be read back, only its codes")
    .argument("<name>", "the key's name: letters, digits, '.', '_', '-' or '@' (not at either end)")
    .option("--uri <uri>", "an otpauth://totp/ URI, or - to read it from stdin")
    .option("--secret [base32]", "the seed in base32, or - for stdin; prompted without echo when no value")
    .option("--qr <image>", "a PNG or JPEG showing the enrolment QR code")
    .option("--issuer <issuer>", "with --secret: the service")
    .option("--account <name>", "with --secret: the account at the service")
    .option("--algorithm <name>", "with --secret: SHA1 (default), SHA256 or SHA512", upperCase)
    .option("--digits <n>", "with --secret: 6 (default) or 8", wholeNumber)
    .option("--period <seconds>", "with --secret: seconds per code (default 30)", wholeNumber)
    .option("--skew <steps>", "steps accepted either side when validating: 0 or 1 (default 1)", wholeNumber)
    .action(async (name: string, options, command: Command) => {
      const sources = ["uri", "secret", "qr"].filter((source) => options[source] !== undefined);
      if (sources.length !== 1) throw usageError("give exactly one of --uri, --secret, --qr");
      const parameters = ["issuer", "account", "algorithm", "digits", "period"];
      const misplaced = parameters.filter((option) => options[option] !== undefined);
      if (!options.secret && misplaced.length > 0)
        throw usageError(`--${misplaced[0]} goes with --secret only: a URI or QR code carries its own`);
      const ctx = contextOf(command);
      const body = {
        url: options.uri === undefined ? undefined : await readSecret(options.uri, "otpauth URI"),
        key: options.secret === undefined ? undefined : await readSecret(options.secret, "secret (base32)"),
        qr_image:
          options.qr === undefined ? undefined : readInputFile(options.qr, "image").toString("base64"),
        issuer: options.issuer,
        account_name: options.account,
        algorithm: options.algorithm,
        digits: options.digits,
        period: options.period,
        skew: options.skew,
      };
      await ctx.client.call("POST", totpKeyPath(name), { body });
      emit(ctx, { name }, () => `Key ${name} stored.`);
    });
}

function registerTotpKeyQueries(totp: Command): void {
  totp
    .command("list")
    .description("the keys you may read (as the web UI lists them); --all: every key name")
    .option("--all", "every key name, readable or not (Vault's LIST: admins and totp-admin tokens)")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      // Not LIST first: a reader's refused LIST would put a denied entry on the audit log each time.
      const keys = options.all
        ? await listNames(ctx.client, "/v1/totp/keys")
        : await readableKeys(ctx.client);
      emit(ctx, { keys }, (data) => (data.keys.length > 0 ? data.keys : "No keys."));
    });

  totp
    .command("show")
    .description("a key's metadata (never its seed)")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const key = await ctx.client.data<KeyMetadataAnswer>("GET", totpKeyPath(name));
      emit(ctx, key, (data) =>
        table([
          ["Name", data.name],
          ["Issuer", data.issuer || "-"],
          ["Account", data.account_name || "-"],
          ["Algorithm", data.algorithm],
          ["Digits", data.digits],
          ["Period", `${data.period}s`],
          ["Skew", data.skew],
          ["Generated", data.generated],
          ["Created", `${data.created_at} by ${data.created_by}`],
        ]),
      );
    });

  totp
    .command("delete")
    .description("delete a key: its seed is gone for good")
    .argument("<name>")
    .action(async (name: string, _options, command: Command) => {
      const ctx = contextOf(command);
      await ctx.client.call("DELETE", totpKeyPath(name));
      emit(ctx, { name, deleted: true }, () => `Key ${name} deleted.`);
    });
}

async function readableKeys(client: BreakglassClient): Promise<string[]> {
  const { credentials } = await client.data<{ credentials: { name: string }[] }>("GET", "/v1/ui/credentials");
  return credentials.map((credential) => credential.name);
}

function registerTotpImport(totp: Command): void {
  totp
    .command("import-google-authenticator")
    .description("import every account of a Google Authenticator export")
    .argument(
      "<source>",
      "a PNG or JPEG of the export's QR code, an otpauth-migration:// URI, or - for stdin",
    )
    .option("--prefix <prefix>", "put before every imported key name")
    .action(async (source: string, options, command: Command) => {
      const ctx = contextOf(command);
      const uri = source === "-" ? (await readStdin()).trim() : source;
      const body = uri.startsWith("otpauth-migration:")
        ? { url: uri, prefix: options.prefix }
        : { qr_image: readInputFile(source, "image").toString("base64"), prefix: options.prefix };
      const summary = await ctx.client.data<ImportAnswer>("POST", "/v1/totp/import/google-authenticator", {
        body,
      });
      emit(ctx, summary, (data) => [
        ...data.imported.map((key) => `Imported ${key.name} (${[key.issuer, key.account_name].join(": ")})`),
        ...data.skipped.map((account) => `Skipped ${account.label || "an account"}: ${account.why}`),
      ]);
    });
}
