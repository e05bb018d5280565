/** Login attempts counted per person and per address, for the lockout. */
export interface LoginFailureStore {
  readLoginFailures(subject: string): Promise<LoginFailures | null>;
  /**
   * Counts a login attempt against `subject` (`user:NAME`, `addr:ADDRESS`) before its password is
   * checked, in one atomic statement: concurrent attempts each get their own count. With
   * `restartRun`, a run that began before `startedBefore` and saw no attempt since `quietSince`
   * starts over at 1.
   */
  countLoginAttempt(
    subject: string,
    at: string,
    restartRun: { startedBefore: string; quietSince: string } | null,
  ): Promise<CountedLoginAttempt>;
  /** Takes back the attempt counted at `at` (it succeeded): one fewer, and if none came since, the time of the one before. */
  uncountLoginAttempt(subject: string, at: string): Promise<void>;
  clearLoginFailures(subject: string): Promise<void>;
}

export interface LoginFailures {
  /** Attempts counted in a row and not taken back: failures, and attempts still being checked. */
  failures: number;
  /** When the last of them was counted: the lock it left runs from then (core/people.ts `lockEnds`). */
  lastAttemptAt: string | null;
}

export interface CountedLoginAttempt {
  /** The count with this attempt. */
  failures: number;
  /** When the attempt counted before this one was: the lock in force at this attempt ran from then. */
  previousAttemptAt: string | null;
}
