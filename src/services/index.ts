import type { Store } from "../store/store.js";
import { AuditLog, type AuditObserver } from "./audit.js";
import { SealService } from "./seal.js";
import { TokenService } from "./tokens.js";
import { TotpService } from "./totp.js";

export interface Services {
  store: Store;
  audit: AuditLog;
  seal: SealService;
  tokens: TokenService;
  totp: TotpService;
}

export function createServices(store: Store, auditObserver: AuditObserver): Services {
  const audit = new AuditLog(store, auditObserver);
  // Tokens are checked with a key from the keyring, which exists only once the seal service has unsealed.
  const tokens: TokenService = new TokenService(store, audit, () => seal.keyringOrThrow().tokenHmacKey);
  const seal = new SealService(store, audit, tokens);
  const totp = new TotpService(store, seal, tokens, audit);
  return { store, audit, seal, tokens, totp };
}
