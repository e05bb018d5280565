import type { Clock } from "../../core/clock.js";
import { badInput } from "../../core/errors.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { RekeyResult, SealService } from "../seal/seal.js";
import { QuorumCeremony } from "./ceremony.js";
import type { SharePlan, ShareSpec } from "./share-handout.js";

export interface RekeyRequest extends ShareSpec {
  backup?: boolean;
  requireVerification?: boolean;
}

/** A rekey's parameters, and what custodians are shown of them: who will hold the new shares. */
export interface RekeyAttempt {
  spec: ShareSpec;
  plan: SharePlan;
}

/**
 * Rekey (Vault's `sys/rekey`): a quorum of the current shares makes a new set, with new counts
 * and custodians; the keyring is sealed under a new root key, so the old shares stop working.
 */
export class RekeyService extends QuorumCeremony<RekeyAttempt> {
  constructor(seal: SealService, audit: AuditLog, clock: Clock) {
    super(seal, audit, clock, "sys.rekey", "a rekey", "custody");
  }

  async start(request: RekeyRequest, ctx: RequestContext): Promise<void> {
    if (request.backup) throw badInput("backup is not supported: keep the encrypted shares yourself");
    if (request.requireVerification)
      throw badInput("require_verification is not supported: run a drill with each new share instead");
    const spec: ShareSpec = {
      secretShares: request.secretShares,
      secretThreshold: request.secretThreshold,
      pgpKeys: request.pgpKeys,
      custodians: request.custodians,
    };
    // Checked now, so that a mistake is found before the custodians gather.
    const plan = await this.seal.planShares(spec);
    await this.begin({ spec, plan }, ctx, {
      produces: `make ${spec.secretShares} new shares, ${spec.secretThreshold} to unseal, for ${plan.custodians.join(", ")}${
        plan.pgpFingerprints.length > 0
          ? ` encrypted to PGP keys ${plan.pgpFingerprints.join(", ")}`
          : " (not encrypted)"
      }, and retire the current ones`,
      details: {
        secret_shares: spec.secretShares,
        secret_threshold: spec.secretThreshold,
        pgp_fingerprints: plan.pgpFingerprints.join(",") || null,
        custodians: plan.custodians.join(", "),
      },
    });
  }

  /** One share; the new shares once the quorum is reached, else null. */
  async update(
    key: string | undefined,
    nonce: string | undefined,
    ctx: RequestContext,
  ): Promise<RekeyResult | null> {
    const attempt = await this.takeShare(key, nonce, ctx);
    if (attempt === null) return null;
    const { spec } = attempt;
    return this.seal.rekey(spec, ctx, (custodians) =>
      this.notice(
        ctx,
        `breakglass was rekeyed to ${spec.secretThreshold} of ${spec.secretShares} shares (${custodians.join(", ")}): the old shares no longer unseal it`,
      ),
    );
  }
}
