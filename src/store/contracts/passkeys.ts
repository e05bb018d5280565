/**
 * People's passkeys (WebAuthn credentials: public keys only) and the challenges handed out for
 * them. Challenges live in the database, not in memory, so that the node that finishes a ceremony
 * need not be the one that began it; each is taken once.
 */
export interface PasskeyStore {
  /** The person's passkeys, oldest first. */
  list(username: string): Promise<PasskeyRecord[]>;
  find(id: string): Promise<PasskeyRecord | null>;
  /** Keeps a new passkey; false when one with that credential id exists already (anyone's). */
  insert(passkey: PasskeyRecord): Promise<boolean>;
  /** Renames the person's passkey; false when they have none with that id. */
  rename(username: string, id: string, name: string): Promise<boolean>;
  /** Removes the person's passkey; false when they have none with that id. */
  remove(username: string, id: string): Promise<boolean>;
  /** Removes every passkey of the person (an admin's reset); the ids removed. */
  removeAll(username: string): Promise<string[]>;
  /** Records a use: the authenticator's signature counter and the time. */
  recordUse(id: string, counter: number, at: string): Promise<void>;
  /** Keeps a challenge, and forgets every challenge that expired before `now`. */
  saveChallenge(challenge: PasskeyChallengeRecord, now: string): Promise<void>;
  /** Takes (deletes and hands back) the challenge, so that it is used at most once; null when there is none. */
  takeChallenge(challenge: string): Promise<PasskeyChallengeRecord | null>;
}

/** A registered passkey: its credential id and public key (COSE), never anything secret. */
export interface PasskeyRecord {
  /** The credential id, base64url, as the authenticator made it. */
  id: string;
  username: string;
  /** What the person calls it ("laptop", "YubiKey 5C"). */
  name: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  /** singleDevice or multiDevice (synced), as the authenticator says. */
  deviceType: string;
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

/** What a challenge was handed out for. */
export type PasskeyPurpose = "register" | "login" | "step-up";

/** A challenge handed out, bound to a person, a purpose and (for a step-up) the action it allows. */
export interface PasskeyChallengeRecord {
  /** The challenge, base64url, as the options carried it. */
  challenge: string;
  username: string;
  purpose: PasskeyPurpose;
  /** For a step-up: `ACTION TARGET`, the one use it allows; empty otherwise. */
  binding: string;
  createdAt: string;
  expiresAt: string;
}
