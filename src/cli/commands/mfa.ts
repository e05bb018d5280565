import type { Command } from "commander";
import QRCode from "qrcode";
import type { ConfirmSecondFactorBody } from "../../api/people.js";
import { contextOf } from "../command-context.js";
import { emit, usageError } from "../output.js";

/** One's own second factor: enrol (the QR is shown once), then confirm with a code. */
export function registerMfa(program: Command): void {
  const mfa = program.command("mfa").description("your own second factor for userpass logins");

  mfa
    .command("enrol")
    .description(
      "make your second factor and show its QR code this once (log in with --method userpass first)",
    )
    .action(async (_options, command: Command) => {
      const ctx = contextOf(command);
      const enrolment = await ctx.client.data<{ url: string; barcode: string }>(
        "POST",
        "/v1/auth/userpass/mfa",
        { body: {} },
      );
      const terminalQr = ctx.json
        ? ""
        : await QRCode.toString(enrolment.url, { type: "terminal", small: true });
      emit(ctx, enrolment, (data) => [
        "Scan this with your authenticator app now: it is shown only this once.",
        terminalQr,
        `Or enter this URI by hand: ${data.url}`,
        "Then confirm with the code it shows: breakglass mfa confirm CODE",
      ]);
    });

  mfa
    .command("confirm <code>")
    .description("switch the second factor on with its current code; every login then needs --totp")
    .action(async (code: string, _options, command: Command) => {
      if (!/^[0-9]{6,8}$/.test(code))
        throw usageError("the code is the 6 or 8 digits your authenticator shows");
      const ctx = contextOf(command);
      await ctx.client.call("POST", "/v1/auth/userpass/mfa/confirm", {
        body: { code } satisfies ConfirmSecondFactorBody,
      });
      emit(ctx, { enabled: true }, () => "Second factor enabled: log in with --totp CODE from now on.");
    });
}
