import type { Clock } from "../../core/clock.js";
import { type AccountCoverage, type CoverageCredential, coverageOf } from "../../core/coverage.js";
import type { Store, TotpKeyRecord } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";

export interface CoverageReport {
  windowDays: number;
  accounts: AccountCoverage[];
  /** Accounts with at least one flag. */
  flagged: number;
}

/**
 * The coverage report: each protected account and its factors, flagged where one loss, one
 * place or one date could lock it out. The route checks `devices.read`; the read is audited,
 * since it names every credential.
 */
export class CoverageService {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async report(windowDays: number, ctx: RequestContext): Promise<CoverageReport> {
    const [credentials, devices] = await Promise.all([this.credentials(), this.store.devices.list()]);
    const accounts = coverageOf(credentials, devices, new Date(this.clock.now()), windowDays);
    const flagged = accounts.filter((account) => account.flags.length > 0).length;
    await this.audit.record(ctx, {
      action: "devices.coverage",
      target: "coverage",
      outcome: "allowed",
      details: {
        window_days: windowDays,
        accounts: accounts.length,
        flagged,
      },
    });
    return { windowDays, accounts, flagged };
  }

  /** breakglass credentials (people's own second factors are not among them: they protect a login, not an account). */
  private async credentials(): Promise<CoverageCredential[]> {
    const names = await this.store.listTotpKeyNames();
    const keys = await Promise.all(names.map((name) => this.store.findTotpKey(name)));
    return keys
      .filter((key): key is TotpKeyRecord => key !== null)
      .map(({ name, issuer, accountName }) => ({ name, issuer, accountName }));
  }
}
