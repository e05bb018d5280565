import { decideCodeRead, principalMatches } from "../../core/access.js";
import type { Store } from "../../store/store.js";
import type { ApprovalService } from "../access/approvals.js";
import type { Actor } from "../context.js";

export interface DirectoryEntry {
  name: string;
  issuer: string;
  accountName: string;
  /** The rule's readers; empty with no rule (admins only). */
  readers: string[];
  approvers: string[];
  approvalsRequired: number;
  requireReason: boolean;
  /** A read needs a passkey step-up (the rule's step_up). */
  stepUp: boolean;
}

/**
 * The credentials a person may read, with what reading them takes: the UI's list. Decided by the
 * same rule as a read (core/access.ts), so the list never offers what the read would refuse.
 * People's own second factors are not credentials (nor TOTP keys) and never listed.
 */
export class CredentialDirectory {
  constructor(
    private readonly store: Store,
    private readonly approvals: ApprovalService,
  ) {}

  async readableBy(actor: Actor): Promise<DirectoryEntry[]> {
    const names = await this.store.listTotpKeyNames();
    const entries = await Promise.all(
      names.map(async (name): Promise<DirectoryEntry | null> => {
        const rule = await this.approvals.ruleOf(name);
        if (!decideCodeRead(actor, rule).allowed) return null;
        const key = await this.store.findTotpKey(name);
        if (!key) return null; // deleted meanwhile
        return {
          name,
          issuer: key.issuer,
          accountName: key.accountName,
          readers: rule?.readers ?? [],
          approvers: rule?.approvers ?? [],
          approvalsRequired: rule?.approvalsRequired ?? 0,
          requireReason: rule?.requireReason ?? false,
          stepUp: rule?.stepUp ?? false,
        };
      }),
    );
    return entries.filter((entry): entry is DirectoryEntry => entry !== null);
  }

  /** Whether a rule names this person among the approvers of a read: the UI then points them to Approvals. */
  async approvesAny(actor: Actor): Promise<boolean> {
    for (const name of await this.store.listTotpKeyNames()) {
      const rule = await this.approvals.ruleOf(name);
      if (rule && rule.approvalsRequired > 0 && rule.approvers.some((p) => principalMatches(p, actor)))
        return true;
    }
    return false;
  }
}
