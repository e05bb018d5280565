import { Command, CommanderError } from "commander";
import { VERSION } from "../version.js";
import { registerAccess } from "./commands/access.js";
import { registerApprovals } from "./commands/approvals.js";
import { registerAudit } from "./commands/audit.js";
import { registerBackup } from "./commands/backup.js";
import { registerCoverage } from "./commands/coverage.js";
import { registerCustodians } from "./commands/custodians.js";
import { registerDevices } from "./commands/devices.js";
import { registerGroups } from "./commands/groups.js";
import { registerLogin } from "./commands/login.js";
import { registerMfa } from "./commands/mfa.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerOperator } from "./commands/operator.js";
import { registerServer } from "./commands/server.js";
import { registerSso } from "./commands/sso.js";
import { registerStatus } from "./commands/status.js";
import { registerTotp } from "./commands/totp.js";
import { registerUsers } from "./commands/users.js";
import { reportError } from "./output.js";

/** The `breakglass` command: exit 0 on success, 1 on error, 2 on a usage error. */
export function buildProgram(): Command {
  const program = new Command("breakglass")
    .description("shared custody of MFA seeds: write-only TOTP keys, Shamir-sealed, on an audit chain")
    .version(VERSION)
    .option("--json", "machine-readable output: the API's JSON data")
    .option("--debug", "show stack traces on errors")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      "\nEnvironment: BREAKGLASS_ADDR (default http://127.0.0.1:8470), BREAKGLASS_TOKEN (else the token saved by login),\nBREAKGLASS_TOKEN_FILE (where login saves it and commands read it; default ~/.config/breakglass/token).",
    )
    // Settings inherited by every subcommand added below: commander errors are thrown, not exited on.
    .exitOverride();
  registerServer(program);
  registerStatus(program);
  registerOperator(program);
  registerLogin(program);
  registerTotp(program);
  registerUsers(program);
  registerGroups(program);
  registerSso(program);
  registerMfa(program);
  registerAccess(program);
  registerApprovals(program);
  registerAudit(program);
  registerBackup(program);
  registerCustodians(program);
  registerDevices(program);
  registerCoverage(program);
  registerMigrate(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    // Commander has already printed its message; --help and --version are its only successes.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportError(error, argv.includes("--debug"));
  }
}

process.exitCode = await main(process.argv);
