import { randomUUID } from "node:crypto";
import { sameSecret } from "../../core/constant-time.js";
import { decodeHexOrBase64 } from "../../core/encoding.js";
import { KEY_BYTES } from "../../core/keyring.js";
import { expectedShareLength } from "../../core/shamir.js";

/**
 * Shares given towards one quorum (an unseal, a rekey, a root token, a seed export): each
 * distinct share counts once, and every copy is overwritten when the attempt ends.
 */
export class ShareCollector {
  private shares: Buffer[] = [];
  private attemptNonce = "";

  get progress(): number {
    return this.shares.length;
  }

  /** Names this attempt; empty until the first share (unseal) or the start (ceremonies). */
  get nonce(): string {
    return this.attemptNonce;
  }

  /** Starts an attempt under `nonce` (a fresh one unless given). */
  begin(nonce: string = randomUUID()): void {
    this.attemptNonce = nonce;
  }

  /** Keeps the share unless the same one was already given; returns whether it counted. */
  add(share: Buffer): boolean {
    if (this.shares.some((known) => sameSecret(known, share))) {
      share.fill(0);
      return false;
    }
    if (this.attemptNonce === "") this.begin();
    this.shares.push(share);
    return true;
  }

  /** The shares given so far; still owned (and wiped) by the collector. */
  given(): Buffer[] {
    return this.shares;
  }

  reset(): void {
    for (const share of this.shares) share.fill(0);
    this.shares = [];
    this.attemptNonce = "";
  }
}

/** Decodes a share as typed (hex or base64); null when it is not the length of this vault's shares. */
export function decodeShare(text: string, threshold: number): Buffer | null {
  const share = decodeHexOrBase64(text, "key");
  if (share.length === expectedShareLength(threshold, KEY_BYTES)) return share;
  share.fill(0);
  return null;
}

export function wrongShareLength(threshold: number): string {
  const expected = expectedShareLength(threshold, KEY_BYTES);
  return `key is not a share of this vault: a share is ${expected} bytes (${expected * 2} hex characters)`;
}
