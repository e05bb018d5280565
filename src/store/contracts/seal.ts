/** The seal configuration (one row) and the custodians of its shares. */
export interface SealConfigStore {
  readSealConfig(): Promise<SealConfig | null>;
  /** Stores the seal configuration and its custodians once; false when the vault was already initialised. */
  createSealConfig(config: SealConfig, custodians: CustodianRecord[]): Promise<boolean>;
  /** Replaces the sealed keyring only if it is still `previous` (no concurrent change); false otherwise. */
  replaceSealKeyring(previous: Buffer, next: Buffer): Promise<boolean>;
  /**
   * A rekey: new share counts, keyring sealed under the new root key, and the new custodians, in
   * one transaction, only if the stored keyring is still `previousKeyring`; false otherwise.
   */
  rekeySeal(previousKeyring: Buffer, next: RekeyedSeal, custodians: CustodianRecord[]): Promise<boolean>;
  /** Records the audit checkpoint public key (PEM) beside the seal configuration. */
  setAuditPublicKey(pem: string): Promise<void>;
  listCustodians(): Promise<CustodianRecord[]>;
  markCustodianVerified(shareIndex: number, time: string): Promise<void>;
}

export interface SealConfig {
  secretShares: number;
  secretThreshold: number;
  sealedKeyring: Buffer;
  pgpFingerprints: string[];
  clusterId: string;
  createdAt: string;
  auditPublicKey?: string | null;
  /** Set by a restore until the first unseal applies the backup (opaque JSON, no secret). */
  restorePending?: string | null;
}

export interface RekeyedSeal {
  secretShares: number;
  secretThreshold: number;
  sealedKeyring: Buffer;
  pgpFingerprints: string[];
}

export interface CustodianRecord {
  /** 1-based position of the share as handed out. */
  shareIndex: number;
  name: string;
  pgpFingerprint: string | null;
  /** Recognises the share (see core/custody.ts); cannot rebuild it. */
  shareHash: string;
  createdAt: string;
  lastVerified: string | null;
}
