import type { Clock } from "../../core/clock.js";
import type { PasskeyChallengeRecord, PasskeyPurpose, Store } from "../../store/store.js";

/**
 * WebAuthn challenges handed out: stored (several nodes share the database, so none is kept in
 * memory), bound to a person, a purpose and, for a step-up, the one action it allows; taken once
 * (deleted by the one request that answers it), and refused once past its lifetime.
 */
export class PasskeyChallenges {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async save(
    challenge: string,
    username: string,
    purpose: PasskeyPurpose,
    binding: string,
    seconds: number,
  ): Promise<void> {
    const now = this.clock.now();
    await this.store.passkeys.saveChallenge(
      {
        challenge,
        username,
        purpose,
        binding,
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + seconds * 1000).toISOString(),
      },
      new Date(now).toISOString(),
    );
  }

  /** Takes the challenge (used up whatever follows), or says why it does not do for `expected`. */
  async take(
    challenge: string | null,
    expected: Pick<PasskeyChallengeRecord, "username" | "purpose" | "binding">,
  ): Promise<PasskeyChallengeRecord | { problem: string }> {
    if (!challenge) return { problem: "the answer carries no challenge" };
    const taken = await this.store.passkeys.takeChallenge(challenge);
    if (!taken) return { problem: "unknown or already used challenge" };
    if (taken.username !== expected.username) return { problem: "a challenge given to someone else" };
    if (taken.purpose !== expected.purpose)
      return { problem: `a challenge for a ${taken.purpose}, not a ${expected.purpose}` };
    if (taken.binding !== expected.binding)
      return { problem: `a challenge for another action (${taken.binding}), not ${expected.binding}` };
    if (Date.parse(taken.expiresAt) <= this.clock.now()) return { problem: "the challenge expired" };
    return taken;
  }
}

/** The challenge an authenticator signed, read from its client data (verified afterwards by the library). */
export function challengeOf(clientDataJSON: string): string | null {
  try {
    const data: unknown = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8"));
    const challenge =
      typeof data === "object" && data !== null && "challenge" in data ? data.challenge : null;
    return typeof challenge === "string" && /^[A-Za-z0-9_-]{16,128}$/.test(challenge) ? challenge : null;
  } catch {
    return null;
  }
}
