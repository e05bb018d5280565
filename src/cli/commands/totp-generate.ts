import type { Command } from "commander";
import QRCode from "qrcode";
import type { CreateKeyBody } from "../../api/totp.js";
import { totpKeyPath } from "../api-paths.js";
import { contextOf, upperCase, wholeNumber } from "../command-context.js";
import { createPrivateFile } from "../local-files.js";
import { emit } from "../output.js";

interface Enrolment {
  url: string;
  barcode: string;
}

export function registerTotpGenerate(totp: Command): void {
  totp
    .command("generate")
    .description("make a new seed inside the server and show its enrolment QR code, this once")
    .argument("<name>", "the key's name: letters, digits, '.', '_', '-' or '@' (not at either end)")
    .requiredOption("--issuer <issuer>", "the service, as the authenticator app shows it")
    .requiredOption("--account <name>", "the account, as the authenticator app shows it")
    .option("--algorithm <name>", "SHA1 (default), SHA256 or SHA512", upperCase)
    .option("--digits <n>", "6 (default) or 8", wholeNumber)
    .option("--period <seconds>", "seconds per code (default 30)", wholeNumber)
    .option("--qr-out <file>", "write the QR code to this new PNG file (mode 0600) instead of the terminal")
    .action(async (name: string, options, command: Command) => {
      const ctx = contextOf(command);
      const qrFile = options.qrOut ? createPrivateFile(options.qrOut) : null;
      let enrolment: Enrolment;
      try {
        enrolment = await ctx.client.data<Enrolment>("POST", totpKeyPath(name), {
          body: {
            generate: true,
            exported: true,
            issuer: options.issuer,
            account_name: options.account,
            algorithm: options.algorithm,
            digits: options.digits,
            period: options.period,
          } satisfies CreateKeyBody,
        });
      } catch (error) {
        qrFile?.discard();
        throw error;
      }
      qrFile?.write(Buffer.from(enrolment.barcode, "base64"));
      // Drawn only for a person at a terminal: the drawing is colour escapes, which no file or pipe
      // shows and no QR reader reads. --json callers get the URL and the PNG as base64.
      const qr = options.qrOut
        ? `QR code written to ${options.qrOut} (mode 0600).`
        : process.stdout.isTTY
          ? await QRCode.toString(enrolment.url, { type: "terminal", small: true })
          : "No QR code drawn (not a terminal): give --qr-out FILE for a PNG, or enter the URI below.";
      emit(ctx, enrolment, (data) => [
        `Key ${name} generated. Enrol it now: this is the only time its seed leaves the server.`,
        qr,
        `Or enter this URI by hand: ${data.url}`,
      ]);
    });
}
