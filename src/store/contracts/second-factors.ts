/**
 * Second factors, each change made together with the person's `mfaState` in one transaction, so
 * the two never disagree (and a concurrent edit of the person cannot undo one).
 */
export interface SecondFactorStore {
  find(username: string): Promise<SecondFactorRecord | null>;
  /**
   * Keeps a new pending factor, replacing a pending one, and marks the person pending; false when
   * there is no such person or their second factor is enabled.
   */
  begin(factor: SecondFactorRecord): Promise<boolean>;
  /**
   * Enables `pending`, confirmed by the code of `step`, and marks the person enabled; false when
   * the stored factor is no longer that one (enrolled again, reset, or deleted meanwhile).
   */
  enable(pending: SecondFactorRecord, step: number, time: string): Promise<boolean>;
  /** Records that the code of `step` was accepted, only if the factor is enabled and no later-or-equal step was. */
  acceptStep(username: string, step: number): Promise<boolean>;
  /** Deletes the person's second factor, whatever its state, and marks them without one. */
  remove(username: string): Promise<void>;
}

/** Whose name a second factor's sealed seed carries in its associated data (see schema.ts). */
export type SecondFactorSealedAs = "second_factors" | "totp_keys";

/** A person's own second factor for logging in (services/second-factor.ts). */
export interface SecondFactorRecord {
  username: string;
  seedCiphertext: Buffer;
  keyVersion: number;
  sealedAs: SecondFactorSealedAs;
  algorithm: string;
  digits: number;
  period: number;
  skew: number;
  state: "pending" | "enabled";
  lastAcceptedStep: number | null;
  createdAt: string;
  enabledAt: string | null;
}
