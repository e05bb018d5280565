/** The TOTP engine's keys. */
export interface TotpKeyStore {
  insertTotpKey(key: TotpKeyRecord): Promise<boolean>;
  findTotpKey(name: string): Promise<TotpKeyRecord | null>;
  listTotpKeyNames(): Promise<string[]>;
  deleteTotpKey(name: string): Promise<boolean>;
  /** Records that the code of `step` was accepted, only if no later-or-equal step was; false otherwise. */
  acceptTotpStep(name: string, step: number): Promise<boolean>;
}

export interface TotpKeyRecord {
  name: string;
  issuer: string;
  accountName: string;
  algorithm: string;
  digits: number;
  period: number;
  skew: number;
  seedCiphertext: Buffer;
  keyVersion: number;
  generated: boolean;
  createdAt: string;
  createdBy: string;
  lastAcceptedStep: number | null;
}
