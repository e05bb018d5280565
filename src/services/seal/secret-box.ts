import { openBytes, sealBytes } from "../../core/barrier.js";
import { conflict, sealedError } from "../../core/errors.js";
import { decodeKeyring, type Keyring, wipeKeyring } from "../../core/keyring.js";
import type { SealConfig } from "../../store/store.js";

/** Associated data of the keyring ciphertext: it opens only as the keyring. */
export const KEYRING_AAD = "seal_config/1/keyring";

/**
 * Sealing and opening secrets under the current keyring's data keys: all that the services which
 * store secrets (TOTP seeds, second factors, sink and notification credentials) depend on.
 */
export interface SecretBox {
  readonly isSealed: boolean;
  /** Encrypts a secret value under the current data key; `aadFor` names the row and key version. */
  sealSecret(
    plaintext: Uint8Array,
    aadFor: (keyVersion: number) => string,
  ): { ciphertext: Buffer; keyVersion: number };
  openSecret(ciphertext: Uint8Array, keyVersion: number, aad: string): Buffer;
  /** A row re-encrypted by another node that rotated: its keyring is taken up before the row is opened. */
  takeUpKeyVersion(keyVersion: number): Promise<void>;
  /** Runs `hook` whenever the keys are dropped, so that secrets opened meanwhile are overwritten too. */
  onWipe(hook: () => void): void;
}

/**
 * The keys an unseal opened, in memory only while unsealed. The seal (seal.ts) puts keys in and
 * takes them out; to everyone else it is a SecretBox.
 */
export class UnsealedKeys implements SecretBox {
  private keyring: Keyring | null = null;
  private rootKey: Buffer | null = null;
  /** The stored keyring ciphertext the keys came from: a different one in the store was rotated or rekeyed elsewhere. */
  private openedFrom: Buffer | null = null;
  private readonly wipeHooks: (() => void)[] = [];
  /** Counts wipes: work that awaited across one must not put keys back (a seal wins over it). */
  private wipes = 0;

  constructor(
    /** The stored seal configuration, read afresh: where a keyring rotated on another node is taken up from. */
    private readonly readSealConfig: () => Promise<SealConfig | null>,
  ) {}

  get isSealed(): boolean {
    return this.keyring === null;
  }

  sealSecret(
    plaintext: Uint8Array,
    aadFor: (keyVersion: number) => string,
  ): { ciphertext: Buffer; keyVersion: number } {
    const keyring = this.keyringOrThrow();
    const keyVersion = keyring.currentDataKeyVersion;
    const { key } = keyring.dataKeys.get(keyVersion) as { key: Buffer };
    return { ciphertext: sealBytes(key, plaintext, aadFor(keyVersion)), keyVersion };
  }

  openSecret(ciphertext: Uint8Array, keyVersion: number, aad: string): Buffer {
    const dataKey = this.keyringOrThrow().dataKeys.get(keyVersion);
    if (!dataKey)
      throw conflict(
        `data key version ${keyVersion} is not yet known to this node (rotated on another node): try again in a moment`,
      );
    return openBytes(dataKey.key, ciphertext, aad);
  }

  async takeUpKeyVersion(keyVersion: number): Promise<void> {
    if (!this.keyringOrThrow().dataKeys.has(keyVersion)) await this.reloadKeyring();
  }

  /**
   * Takes up the keyring as stored when another node rotated it; returns whether it changed.
   * Run by the periodic refresh, and before opening a row under a version this node lacks.
   */
  async reloadKeyring(): Promise<boolean> {
    const rootKey = this.rootKey;
    if (rootKey === null || this.keyring === null) return false;
    const wipes = this.wipes;
    const config = await this.readSealConfig();
    if (this.wipes !== wipes) return false; // sealed while reading: nothing may be put back
    if (config === null || this.openedFrom?.equals(config.sealedKeyring)) return false;
    let encoded: Buffer;
    try {
      encoded = openBytes(rootKey, config.sealedKeyring, KEYRING_AAD);
    } catch {
      return false; // rekeyed on another node: the keys held here stay valid until this node is sealed
    }
    try {
      this.replaceKeyring(decodeKeyring(encoded), config.sealedKeyring);
      return true;
    } finally {
      encoded.fill(0);
    }
  }

  /**
   * Runs `hook` whenever the keys are dropped: whoever holds key material derived while unsealed
   * (ceremonies' shares, backups in flight, caches of opened secrets) overwrites it there. Hooks
   * run synchronously, before the keyring is overwritten, and after a hook throws the other hooks
   * and the keys are wiped all the same (the first error is thrown afterwards).
   */
  onWipe(hook: () => void): void {
    this.wipeHooks.push(hook);
  }

  keyringOrThrow(): Keyring {
    if (this.keyring === null) throw sealedError();
    return this.keyring;
  }

  rootKeyOrThrow(): Buffer {
    if (this.rootKey === null) throw sealedError();
    return this.rootKey;
  }

  /** Which wipe the keys are at: compared after an await, a change means the vault was sealed meanwhile. */
  get generation(): number {
    return this.wipes;
  }

  /** The stored keyring ciphertext the keys in memory were opened from (null while sealed). */
  get sealedKeyring(): Buffer | null {
    return this.openedFrom;
  }

  /** The seal's: keys opened by an unseal (copied; the caller overwrites its own). */
  hold(keyring: Keyring, rootKey: Uint8Array, sealedKeyring: Buffer): void {
    this.keyring = keyring;
    this.rootKey = Buffer.from(rootKey);
    this.openedFrom = sealedKeyring;
  }

  /** The seal's: a rotated keyring replaces the one held, which is overwritten. */
  replaceKeyring(keyring: Keyring, sealedKeyring: Buffer): void {
    const previous = this.keyring;
    this.keyring = keyring;
    this.openedFrom = sealedKeyring;
    if (previous) wipeKeyring(previous);
  }

  /** The seal's: a rekey sealed the same keyring under a new root key. */
  replaceRootKey(rootKey: Uint8Array, sealedKeyring: Buffer): void {
    this.rootKey?.fill(0);
    this.rootKey = Buffer.from(rootKey);
    this.openedFrom = sealedKeyring;
  }

  /** Overwrites every key in memory; the box is sealed afterwards. */
  wipe(): void {
    this.wipes += 1;
    let failure: unknown = null;
    for (const hook of this.wipeHooks) {
      try {
        hook();
      } catch (error) {
        failure ??= error;
      }
    }
    if (this.keyring) wipeKeyring(this.keyring);
    this.keyring = null;
    this.rootKey?.fill(0);
    this.rootKey = null;
    this.openedFrom = null;
    if (failure !== null) throw failure;
  }
}
