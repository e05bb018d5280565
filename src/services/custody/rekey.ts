import { badInput } from "../../core/errors.js";
import type { AuditLog } from "../audit.js";
import { actorLabel, type RequestContext } from "../context.js";
import type { Notifier } from "../notify/events.js";
import type { RekeyResult, SealService, ShareSpec } from "../seal.js";
import { QuorumCeremony } from "./ceremony.js";

export interface RekeyRequest extends ShareSpec {
  backup?: boolean;
  requireVerification?: boolean;
}

/**
 * Rekey (Vault's `sys/rekey`): a quorum of the current shares makes a new set, with new counts
 * and custodians; the keyring is sealed under a new root key, so the old shares stop working.
 */
export class RekeyService extends QuorumCeremony<ShareSpec> {
  constructor(seal: SealService, audit: AuditLog, notifier: Notifier) {
    super(seal, audit, notifier, "sys.rekey", "a rekey");
  }

  async start(request: RekeyRequest, ctx: RequestContext): Promise<void> {
    if (request.backup) throw badInput("backup is not supported: keep the encrypted shares yourself");
    if (request.requireVerification)
      throw badInput("require_verification is not supported: run a drill with each new share instead");
    // Checked now, so that a mistake is found before the custodians gather.
    const spec: ShareSpec = {
      secretShares: request.secretShares,
      secretThreshold: request.secretThreshold,
      pgpKeys: request.pgpKeys,
      custodians: request.custodians,
    };
    await this.seal.checkShareSpec(spec);
    await this.begin(spec, ctx, {
      secret_shares: spec.secretShares,
      secret_threshold: spec.secretThreshold,
    });
    this.tell(
      ctx,
      "custody",
      `${actorLabel(ctx.actor)} started a rekey to ${spec.secretThreshold} of ${spec.secretShares} shares`,
    );
  }

  /** One share; the new shares once the quorum is reached, else null. */
  async update(
    key: string | undefined,
    nonce: string | undefined,
    ctx: RequestContext,
  ): Promise<RekeyResult | null> {
    const spec = await this.takeShare(key, nonce, ctx);
    if (spec === null) return null;
    const result = await this.seal.rekey(spec, ctx);
    this.tell(
      ctx,
      "custody",
      `breakglass was rekeyed to ${spec.secretThreshold} of ${spec.secretShares} shares (${result.custodians.join(", ")}): the old shares no longer unseal it`,
    );
    return result;
  }
}
