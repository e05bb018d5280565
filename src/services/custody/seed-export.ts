import type { PublicKey } from "openpgp";
import type { Clock } from "../../core/clock.js";
import { notFound } from "../../core/errors.js";
import { checkKeyName } from "../../core/key-names.js";
import { armoredMessageTo, fingerprintOf, readPublicKey } from "../../core/pgp.js";
import type { Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import { actorLabel, type RequestContext } from "../context.js";
import type { SealService } from "../seal/seal.js";
import type { TotpService } from "../totp/totp.js";
import { QuorumCeremony } from "./ceremony.js";

interface ExportAttempt {
  name: string;
  pgpKey: PublicKey;
  pgpFingerprint: string;
  /** Who asked for it; the notification and the audit entry say so. */
  requestedBy: string;
}

/**
 * Seed export by quorum (breakglass's own, shaped like generate-root): an admin names the
 * credential and the PGP key it goes to; once the threshold of custodians gave their shares the
 * otpauth URI leaves as an OpenPGP message to that key, and nothing before. For moving an account
 * to a new MFA device, or leaving breakglass.
 */
export class SeedExportService extends QuorumCeremony<ExportAttempt> {
  constructor(
    seal: SealService,
    private readonly store: Store,
    private readonly totp: TotpService,
    audit: AuditLog,
    clock: Clock,
  ) {
    super(seal, audit, clock, "totp.key.export", "a seed export", "seed.exported");
  }

  async start(request: { name: string; pgpKey: string }, ctx: RequestContext): Promise<void> {
    checkKeyName(request.name);
    const pgpKey = await readPublicKey(request.pgpKey, "pgp_key");
    if (!(await this.store.findTotpKey(request.name))) throw notFound(`no key named ${request.name}`);
    const attempt: ExportAttempt = {
      name: request.name,
      pgpKey,
      pgpFingerprint: fingerprintOf(pgpKey),
      requestedBy: actorLabel(ctx.actor),
    };
    await this.begin(attempt, ctx, {
      produces: `export the seed of ${request.name} encrypted to PGP key ${attempt.pgpFingerprint}, once a quorum of custodians gives their shares`,
      details: { key: request.name, pgp_fingerprint: attempt.pgpFingerprint },
      key: request.name,
    });
  }

  /** One share; the armored OpenPGP message holding the otpauth URI once the quorum is reached. */
  async update(
    key: string | undefined,
    nonce: string | undefined,
    ctx: RequestContext,
  ): Promise<string | null> {
    const attempt = await this.takeShare(key, nonce, ctx);
    if (attempt === null) return null;
    const uri = await this.totp.enrolmentUriOf(attempt.name);
    const message = await armoredMessageTo(attempt.pgpKey, uri);
    // Durable before released, like a code.
    await this.audit.record(ctx, {
      action: "totp.key.export",
      target: attempt.name,
      outcome: "allowed",
      details: {
        stage: "released",
        pgp_fingerprint: attempt.pgpFingerprint,
        requested_by: attempt.requestedBy,
      },
      notify: this.notice(
        ctx,
        `the seed of ${attempt.name} was exported to PGP key ${attempt.pgpFingerprint} by a quorum of custodians (asked by ${attempt.requestedBy})`,
        attempt.name,
      ),
    });
    return message;
  }
}
