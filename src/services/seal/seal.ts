import { hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { publicKeyFromSeed, publicKeyPem } from "../../core/audit-checkpoint.js";
import { parsePendingRestore } from "../../core/backup-file.js";
import { openBytes, sealBytes } from "../../core/barrier.js";
import { sameSecret } from "../../core/constant-time.js";
import { shareHash } from "../../core/custody.js";
import { BreakglassError, badInput, conflict, sealedError } from "../../core/errors.js";
import {
  createKeyring,
  decodeKeyring,
  encodeKeyring,
  KEY_BYTES,
  type Keyring,
  wipeKeyring,
  withNewDataKey,
} from "../../core/keyring.js";
import { encryptedText, fingerprintOf, readPublicKey } from "../../core/pgp.js";
import { combineShares, splitRootKey } from "../../core/shamir.js";
import type { CustodianRecord, SealConfig, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { TokenService } from "../auth/tokens.js";
import { actorLabel, type RequestContext } from "../context.js";
import { decodeShare, ShareCollector, wrongShareLength } from "../custody/share-collector.js";
import {
  custodianRecords,
  handOut,
  holdersOf,
  readShareSpec,
  type SharePlan,
  type ShareSpec,
} from "../custody/share-handout.js";
import type { Notifier } from "../notify/events.js";

/** Associated data of the keyring ciphertext: it opens only as the keyring. */
const KEYRING_AAD = "seal_config/1/keyring";

/** What a person must do while a restore waits; said by seal-status, `status` and the start line. */
export const RESTORE_PENDING = "restore pending: unseal with the shares of the backup";

export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  threshold: number;
  shares: number;
  progress: number;
  nonce: string;
  clusterId: string | null;
  /** When the backup staged by a restore was made; the next unseal, with its shares, applies it. */
  restorePendingFrom: string | null;
}

export interface InitRequest extends ShareSpec {
  rootTokenPgpKey?: string;
}

export interface InitResult {
  /** Shares as returned to the caller: raw, or OpenPGP messages when pgp_keys were given. */
  shares: Uint8Array[];
  rootToken: string;
  /** Who holds each share, in order. */
  custodians: string[];
}

export interface RekeyResult {
  shares: Uint8Array[];
  pgpFingerprints: string[];
  custodians: string[];
}

/** Runs once the keyring has opened, before the unseal is on record; a failure keeps the vault sealed. */
export type KeyringOpenedHook = (
  opened: { backupKey: Buffer; config: SealConfig },
  ctx: RequestContext,
) => Promise<void>;

/** HKDF "info" of the backup key, derived from the root key with the cluster id as salt. */
const BACKUP_KEY_INFO = "breakglass backup v1";

/**
 * The seal: holds the root key and the keyring in memory only while unsealed (the root key to
 * rotate data keys, rekey and back up); neither is ever stored in clear.
 */
export class SealService {
  private keyring: Keyring | null = null;
  private rootKey: Buffer | null = null;
  private config: SealConfig | null = null;
  private readonly unsealShares = new ShareCollector();
  private notifier: Notifier | null = null;
  private readonly openedHooks: KeyringOpenedHook[] = [];
  private readonly wipeHooks: (() => void)[] = [];
  /** Counts wipes: work that awaited across one must not put keys back (a seal wins over it). */
  private wipes = 0;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly tokens: TokenService,
  ) {}

  /** The notifier is made after the seal (it needs the keyring), so it is introduced afterwards. */
  tellOf(notifier: Notifier): void {
    this.notifier = notifier;
  }

  get isSealed(): boolean {
    return this.keyring === null;
  }

  async status(): Promise<SealStatus> {
    return this.statusWith(await this.loadConfig());
  }

  /** Seal status, and whether the store answers: a node that lost its database is not healthy. */
  async health(): Promise<SealStatus & { storageReachable: boolean }> {
    try {
      await this.store.ping();
      return { ...(await this.status()), storageReachable: true };
    } catch {
      return { ...this.statusWith(this.config), storageReachable: false };
    }
  }

  /**
   * Who would hold the shares of `spec`, and under which PGP keys; refuses share counts, PGP keys
   * or custodian names that a rekey to `spec` would refuse.
   */
  async planShares(spec: ShareSpec): Promise<SharePlan> {
    const keys = await readShareSpec(spec);
    return { pgpFingerprints: keys.map(fingerprintOf), custodians: holdersOf(spec, keys) };
  }

  /** Runs `hook` each time the keyring opens at an unseal (a pending restore is applied there). */
  onKeyringOpened(hook: KeyringOpenedHook): void {
    this.openedHooks.push(hook);
  }

  async initialize(request: InitRequest, ctx: RequestContext): Promise<InitResult> {
    const custodianKeys = await readShareSpec(request);
    const rootTokenKey =
      request.rootTokenPgpKey !== undefined
        ? await readPublicKey(request.rootTokenPgpKey, "root_token_pgp_key")
        : null;
    if ((await this.loadConfig()) !== null)
      throw new BreakglassError("ALREADY_INITIALIZED", "Vault is already initialized");
    // An upload interrupted before it could be cleaned up (a killed process) left chunks staged:
    // they belong to no vault, and a new vault must not carry them.
    await this.store.backup.clearStagedChunks();

    const rootKey = randomBytes(KEY_BYTES);
    const keyring = createKeyring();
    const encodedKeyring = encodeKeyring(keyring);
    const clusterId = randomUUID();
    try {
      const config: SealConfig = {
        secretShares: request.secretShares,
        secretThreshold: request.secretThreshold,
        sealedKeyring: sealBytes(rootKey, encodedKeyring, KEYRING_AAD),
        pgpFingerprints: custodianKeys.map(fingerprintOf),
        clusterId,
        createdAt: new Date().toISOString(),
        auditPublicKey: publicKeyPem(publicKeyFromSeed(keyring.auditSigningSeed)),
      };
      const rawShares = await splitRootKey(rootKey, request.secretShares, request.secretThreshold);
      const custodians = custodianRecords(clusterId, rawShares, request, custodianKeys);
      // Audited before the configuration is stored: a vault whose shares were never handed out is
      // unusable, so nothing is stored unless the record of it is.
      await this.audit.record(ctx, {
        action: "sys.init",
        outcome: "allowed",
        details: {
          secret_shares: request.secretShares,
          secret_threshold: request.secretThreshold,
          pgp_fingerprints: config.pgpFingerprints.join(",") || null,
          custodians: custodians.map((c) => c.name).join(", "),
        },
      });
      const rootToken = await this.tokens.issueRootToken(keyring.tokenHmacKey);
      if (!(await this.store.createSealConfig(config, custodians)))
        throw new BreakglassError("ALREADY_INITIALIZED", "Vault is already initialized");
      this.config = config;
      const shares = await handOut(rawShares, custodianKeys);
      const tokenOut = rootTokenKey ? await encryptedText(rootTokenKey, rootToken) : rootToken;
      return { shares, rootToken: tokenOut, custodians: custodians.map((c) => c.name) };
    } finally {
      rootKey.fill(0);
      encodedKeyring.fill(0);
      wipeKeyring(keyring);
    }
  }

  /** Takes one share (hex or base64). Unseals when the threshold is reached and the shares open the keyring. */
  async submitShare(request: { key?: string; reset?: boolean }, ctx: RequestContext): Promise<SealStatus> {
    const config = await this.initializedConfig();
    if (request.reset) {
      this.unsealShares.reset();
      await this.audit.record(ctx, { action: "sys.unseal", outcome: "allowed", details: { reset: true } });
      return this.status();
    }
    if (request.key === undefined)
      throw badInput("'key' must be specified in request body as JSON, or 'reset' set to true");
    const share = decodeShare(request.key, config.secretThreshold);
    if (share === null) {
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "denied",
        details: { problem: "wrong share length" },
      });
      throw badInput(wrongShareLength(config.secretThreshold));
    }
    if (this.keyring !== null) {
      share.fill(0);
      return this.status();
    }
    const attempt = this.unsealShares.nonce;
    const custodian = await this.custodianOf(config, share);
    // Looked at again after the wait: an unseal finished meanwhile needs no share, and a reset
    // meanwhile (another custodian's, or a cancelled ceremony's) must not receive one given before it.
    if (this.keyring !== null) {
      share.fill(0);
      return this.status();
    }
    if (attempt !== "" && this.unsealShares.nonce !== attempt) {
      share.fill(0);
      throw conflict(
        "unseal progress was reset while this share was checked: it was not counted; give it again",
      );
    }
    if (!this.unsealShares.add(share)) return this.status();
    if (this.unsealShares.progress < config.secretThreshold) {
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "allowed",
        details: { progress: this.unsealShares.progress, threshold: config.secretThreshold, custodian },
      });
      return this.status();
    }
    await this.openKeyring(config, custodian, ctx);
    return this.status();
  }

  /** Who holds which share of the current set. */
  custodians(): Promise<CustodianRecord[]> {
    return this.store.listCustodians();
  }

  /** The custodian holding `share`, or null when no recorded custodian does (another vault's share). */
  async custodianRecordOf(config: SealConfig, share: Uint8Array): Promise<CustodianRecord | null> {
    const hash = shareHash(config.clusterId, share);
    // Constant time, though the hash is no secret: nothing here should say how close a guess came.
    return (await this.custodians()).find((c) => sameSecret(c.shareHash, hash)) ?? null;
  }

  async custodianOf(config: SealConfig, share: Uint8Array): Promise<string | null> {
    return (await this.custodianRecordOf(config, share))?.name ?? null;
  }

  /** The seal configuration; refuses an uninitialised vault. */
  async initializedConfig(): Promise<SealConfig> {
    const config = await this.loadConfig();
    if (config === null) throw new BreakglassError("NOT_INITIALIZED", "Vault is not initialized");
    return config;
  }

  async seal(ctx: RequestContext): Promise<void> {
    try {
      await this.audit.record(ctx, { action: "sys.seal", outcome: "allowed" });
    } finally {
      // Sealing is the safe direction: the keys go even when the record of it cannot be written.
      this.wipe();
    }
    const actor = actorLabel(ctx.actor);
    this.notifier?.notify({
      type: "seal",
      time: new Date().toISOString(),
      actor,
      text: `${actor} sealed breakglass: no code can be read until it is unsealed`,
      requestId: ctx.requestId,
    });
  }

  /**
   * Runs `hook` whenever the seal drops its keys: whoever holds key material derived while
   * unsealed (ceremonies' shares, backups in flight, caches of opened secrets) overwrites it there.
   * Hooks run synchronously, before the keyring is overwritten, and after a hook throws the other
   * hooks and the keys are wiped all the same (the first error is thrown afterwards).
   */
  onWipe(hook: () => void): void {
    this.wipeHooks.push(hook);
  }

  /** Overwrites every key in memory (also on shutdown); the vault is sealed afterwards. */
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
    this.unsealShares.reset();
    if (failure !== null) throw failure;
  }

  /** Whether `candidate` is this vault's root key (a quorum of shares proved); constant time. */
  isRootKey(candidate: Uint8Array): boolean {
    return sameSecret(candidate, this.rootKeyOrThrow());
  }

  /**
   * New shares for the same keyring: a fresh root key seals it, the old shares stop working.
   * The caller has proved a quorum of the old shares.
   */
  async rekey(spec: ShareSpec, ctx: RequestContext): Promise<RekeyResult> {
    const custodianKeys = await readShareSpec(spec);
    const config = await this.initializedConfig();
    const keyring = this.keyringOrThrow();
    const previousKeyring = config.sealedKeyring;
    const rootKey = randomBytes(KEY_BYTES);
    const encoded = encodeKeyring(keyring);
    const wipes = this.wipes;
    try {
      const sealedKeyring = sealBytes(rootKey, encoded, KEYRING_AAD);
      const rawShares = await splitRootKey(rootKey, spec.secretShares, spec.secretThreshold);
      const custodians = custodianRecords(config.clusterId, rawShares, spec, custodianKeys);
      const next = {
        secretShares: spec.secretShares,
        secretThreshold: spec.secretThreshold,
        sealedKeyring,
        pgpFingerprints: custodianKeys.map(fingerprintOf),
      };
      await this.audit.record(ctx, {
        action: "sys.rekey",
        outcome: "allowed",
        details: {
          secret_shares: next.secretShares,
          secret_threshold: next.secretThreshold,
          pgp_fingerprints: next.pgpFingerprints.join(",") || null,
          custodians: custodians.map((c) => c.name).join(", "),
        },
      });
      if (!(await this.store.rekeySeal(previousKeyring, next, custodians)))
        throw conflict(
          "the keyring changed while rekeying (a rotation or rekey on another node): start again",
        );
      this.config = { ...config, ...next };
      // Sealed meanwhile: the new shares are stored, so they are handed out, but no key is kept.
      if (this.wipes === wipes) {
        this.rootKey?.fill(0);
        this.rootKey = Buffer.from(rootKey);
      }
      return {
        shares: await handOut(rawShares, custodianKeys),
        pgpFingerprints: next.pgpFingerprints,
        custodians: custodians.map((c) => c.name),
      };
    } finally {
      rootKey.fill(0);
      encoded.fill(0);
    }
  }

  /** Adds a data key version; new writes use it at once (old rows are re-encrypted in the background). */
  async rotateDataKey(ctx: RequestContext): Promise<{ term: number; installedAt: number }> {
    const config = await this.initializedConfig();
    const current = this.keyringOrThrow();
    const rotated = withNewDataKey(current);
    const encoded = encodeKeyring(rotated);
    const wipes = this.wipes;
    try {
      const sealedKeyring = sealBytes(this.rootKeyOrThrow(), encoded, KEYRING_AAD);
      await this.audit.record(ctx, {
        action: "sys.rotate",
        outcome: "allowed",
        details: { term: rotated.currentDataKeyVersion },
      });
      if (!(await this.store.replaceSealKeyring(config.sealedKeyring, sealedKeyring))) {
        wipeKeyring(rotated);
        throw conflict(
          "the keyring changed during the rotation (another node rotated or rekeyed): try again",
        );
      }
      this.config = { ...config, sealedKeyring };
      if (this.wipes !== wipes) {
        wipeKeyring(rotated); // sealed meanwhile: the rotation is stored, the keys are not kept
        throw sealedError();
      }
      this.keyring = rotated;
      wipeKeyring(current);
      const term = rotated.currentDataKeyVersion;
      return { term, installedAt: rotated.dataKeys.get(term)?.installedAt ?? 0 };
    } finally {
      encoded.fill(0);
    }
  }

  /** The current data key version (Vault's "term") and when it was added. */
  keyStatus(): { term: number; installedAt: number } {
    const keyring = this.keyringOrThrow();
    const term = keyring.currentDataKeyVersion;
    return { term, installedAt: keyring.dataKeys.get(term)?.installedAt ?? 0 };
  }

  /**
   * What a backup needs: the stored seal configuration and a key derived from the root key it is
   * sealed under. Refused when this node's root key no longer opens the stored keyring (another
   * node rekeyed): a backup must be restorable with the shares of its header.
   */
  async backupMaterial(): Promise<{ config: SealConfig; backupKey: Buffer }> {
    this.rootKeyOrThrow();
    const config = await this.store.readSealConfig();
    if (config === null) throw new BreakglassError("NOT_INITIALIZED", "Vault is not initialized");
    const rootKey = this.rootKeyOrThrow(); // again: the vault may have been sealed while reading
    try {
      openBytes(rootKey, config.sealedKeyring, KEYRING_AAD).fill(0);
    } catch {
      throw conflict(
        "this node's root key no longer opens the stored keyring (a rekey on another node): seal and unseal this node with the new shares, then back up",
      );
    }
    return { config, backupKey: backupKeyOf(rootKey, config.clusterId) };
  }

  /** The audit checkpoint verification key (PEM), public; null before init. */
  async auditPublicKey(): Promise<string | null> {
    return (await this.loadConfig())?.auditPublicKey ?? null;
  }

  keyringOrThrow(): Keyring {
    if (this.keyring === null) throw sealedError();
    return this.keyring;
  }

  private rootKeyOrThrow(): Buffer {
    if (this.rootKey === null) throw sealedError();
    return this.rootKey;
  }

  /** Encrypts a secret value under the current data key; `aadFor` names the row and key version. */
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

  hasDataKey(keyVersion: number): boolean {
    return this.keyringOrThrow().dataKeys.has(keyVersion);
  }

  /**
   * Takes up the keyring as stored when another node rotated it; returns whether it changed.
   * Run by the periodic refresh, and before opening a row under a version this node lacks.
   */
  async reloadKeyring(): Promise<boolean> {
    const rootKey = this.rootKey;
    if (rootKey === null || this.keyring === null) return false;
    const wipes = this.wipes;
    const config = await this.store.readSealConfig();
    if (this.wipes !== wipes) return false; // sealed while reading: nothing may be put back
    if (config === null || (this.config && config.sealedKeyring.equals(this.config.sealedKeyring)))
      return false;
    let encoded: Buffer;
    try {
      encoded = openBytes(rootKey, config.sealedKeyring, KEYRING_AAD);
    } catch {
      return false; // rekeyed on another node: the keys held here stay valid until this node is sealed
    }
    try {
      const previous = this.keyring;
      this.keyring = decodeKeyring(encoded);
      this.config = config;
      wipeKeyring(previous);
      return true;
    } finally {
      encoded.fill(0);
    }
  }

  /** `custodian` gave the last share (null when unrecorded). */
  private async openKeyring(
    config: SealConfig,
    custodian: string | null,
    ctx: RequestContext,
  ): Promise<void> {
    let rootKey: Uint8Array | null = null;
    let encoded: Buffer | null = null;
    try {
      rootKey = await combineShares(this.unsealShares.given(), KEY_BYTES);
      encoded = openBytes(rootKey, config.sealedKeyring, KEYRING_AAD);
      this.keyring = decodeKeyring(encoded);
      this.rootKey = Buffer.from(rootKey);
    } catch {
      // Wrong, forged or mixed-up shares: whatever the library or the cipher says, the answer is the same.
      this.unsealShares.reset();
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "failed",
        details: { problem: "shares do not open the keyring" },
      });
      throw badInput(
        "unseal failed: the shares given do not combine into this vault's key; progress was reset, start again",
      );
    } finally {
      rootKey?.fill(0);
      encoded?.fill(0);
    }
    this.unsealShares.reset();
    try {
      if (this.openedHooks.length > 0) {
        const backupKey = backupKeyOf(this.rootKeyOrThrow(), config.clusterId);
        try {
          for (const hook of this.openedHooks) await hook({ backupKey, config }, ctx);
        } finally {
          backupKey.fill(0);
        }
      }
      if (!config.auditPublicKey) {
        // A vault initialised before checkpoints existed publishes its key on first unseal.
        config.auditPublicKey = publicKeyPem(publicKeyFromSeed(this.keyring.auditSigningSeed));
        await this.store.setAuditPublicKey(config.auditPublicKey);
      }
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "allowed",
        details: { unsealed: true, custodian },
      });
      this.notifier?.notify({
        type: "unseal",
        time: new Date().toISOString(),
        actor: actorLabel(ctx.actor),
        text: "breakglass was unsealed: codes can be read again",
        requestId: ctx.requestId,
      });
    } catch (error) {
      this.wipe(); // an unseal that is not on the record does not happen
      throw error;
    }
  }

  private statusWith(config: SealConfig | null): SealStatus {
    return {
      initialized: config !== null,
      sealed: this.keyring === null,
      threshold: config?.secretThreshold ?? 0,
      shares: config?.secretShares ?? 0,
      progress: this.unsealShares.progress,
      nonce: this.unsealShares.nonce,
      clusterId: config?.clusterId ?? null,
      restorePendingFrom: config?.restorePending
        ? (parsePendingRestore(config.restorePending)?.created_at ?? "unknown")
        : null,
    };
  }

  private async loadConfig(): Promise<SealConfig | null> {
    if (this.config === null) this.config = await this.store.readSealConfig();
    return this.config;
  }

  /** Forgets the cached configuration (a restore or another node changed it). */
  forgetConfig(): void {
    this.config = null;
  }
}

function backupKeyOf(rootKey: Uint8Array, clusterId: string): Buffer {
  return Buffer.from(hkdfSync("sha256", rootKey, Buffer.from(clusterId, "utf8"), BACKUP_KEY_INFO, KEY_BYTES));
}
