import type { Store } from "../store/store.js";
import { AuditLog, type AuditObserver } from "./audit.js";
import { AuditAccess } from "./audit-access.js";
import { AuditCheckpoints, type CheckpointPolicy, DEFAULT_CHECKPOINT_POLICY } from "./audit-checkpoints.js";
import { SealService } from "./seal.js";
import { TokenService } from "./tokens.js";
import { TotpService } from "./totp.js";

export interface Services {
  store: Store;
  audit: AuditLog;
  checkpoints: AuditCheckpoints;
  auditAccess: AuditAccess;
  seal: SealService;
  tokens: TokenService;
  totp: TotpService;
}

export function createServices(
  store: Store,
  auditObserver: AuditObserver,
  checkpointPolicy: CheckpointPolicy = DEFAULT_CHECKPOINT_POLICY,
): Services {
  const audit = new AuditLog(store, auditObserver);
  // Tokens are checked with a key from the keyring, which exists only once the seal service has unsealed.
  const tokens: TokenService = new TokenService(store, audit, () => seal.keyringOrThrow().tokenHmacKey);
  const seal = new SealService(store, audit, tokens);
  const totp = new TotpService(store, seal, tokens, audit);
  const checkpoints = new AuditCheckpoints(audit, seal, checkpointPolicy);
  const auditAccess = new AuditAccess(audit, checkpoints, tokens, seal);
  return { store, audit, checkpoints, auditAccess, seal, tokens, totp };
}
