// Over 400 lines: init, unseal, rekey, rotation and the backup key share one seal state and its checks against a seal meanwhile.
import { hkdfSync, randomBytes, randomUUID } from "node:crypto";
import { publicKeyFromSeed, publicKeyPem } from "../../core/audit-checkpoint.js";
import { parsePendingRestore } from "../../core/backup-file.js";
import { openBytes, sealBytes } from "../../core/barrier.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { sameSecret } from "../../core/constant-time.js";
import { shareHash } from "../../core/custody.js";
import { BreakglassError, badInput, conflict, sealedError } from "../../core/errors.js";
import {
  createKeyring,
  decodeKeyring,
  encodeKeyring,
  KEY_BYTES,
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
import type { EventNotice } from "../notify/events.js";
import { KEYRING_AAD, type UnsealedKeys } from "./secret-box.js";

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
 * The seal's state: initialisation, unseal progress, sealing, and the keyring's lifecycle (rekey,
 * rotation, backup key). The keys it opens are held by `box` (secret-box.ts), in memory only while
 * unsealed (the root key to rotate data keys, rekey and back up); neither is ever stored in clear.
 */
export class SealService {
  private config: SealConfig | null = null;
  private readonly unsealShares = new ShareCollector();
  private readonly openedHooks: KeyringOpenedHook[] = [];

  constructor(
    private readonly store: Store,
    /** Where the opened keys are held; services that only seal and open secrets depend on it alone. */
    readonly box: UnsealedKeys,
    private readonly audit: AuditLog,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
  ) {}

  get isSealed(): boolean {
    return this.box.isSealed;
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
    const keyring = createKeyring(this.clock.now());
    const encodedKeyring = encodeKeyring(keyring);
    const clusterId = randomUUID();
    try {
      const config: SealConfig = {
        secretShares: request.secretShares,
        secretThreshold: request.secretThreshold,
        sealedKeyring: sealBytes(rootKey, encodedKeyring, KEYRING_AAD),
        pgpFingerprints: custodianKeys.map(fingerprintOf),
        clusterId,
        createdAt: isoTime(this.clock),
        auditPublicKey: publicKeyPem(publicKeyFromSeed(keyring.auditSigningSeed)),
      };
      const rawShares = await splitRootKey(rootKey, request.secretShares, request.secretThreshold);
      const custodians = custodianRecords(clusterId, rawShares, request, custodianKeys, config.createdAt);
      // Audited before the configuration is stored: a vault whose shares were never handed out is
      // unusable, so nothing is stored unless the record of it is.
      await this.audit.record(ctx, {
        action: "sys.init",
        outcome: "allowed",
        details: sharingDetails(config, custodians),
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
    if (!this.box.isSealed) {
      share.fill(0);
      return this.status();
    }
    const attempt = this.unsealShares.nonce;
    const custodian = await this.custodianOf(config, share);
    // Looked at again after the wait: an unseal finished meanwhile needs no share, and a reset
    // meanwhile (another custodian's, or a cancelled ceremony's) must not receive one given before it.
    if (!this.box.isSealed) {
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
    const actor = actorLabel(ctx.actor);
    try {
      await this.audit.record(ctx, {
        action: "sys.seal",
        outcome: "allowed",
        notify: {
          type: "seal",
          actor,
          text: `${actor} sealed breakglass: no code can be read until it is unsealed`,
        },
      });
    } finally {
      // Sealing is the safe direction: the keys go even when the record of it cannot be written.
      this.wipe();
    }
  }

  /** Overwrites every key in memory (also on shutdown); the vault is sealed afterwards. */
  wipe(): void {
    try {
      this.box.wipe();
    } finally {
      this.unsealShares.reset();
    }
  }

  /** Whether `candidate` is this vault's root key (a quorum of shares proved); constant time. */
  isRootKey(candidate: Uint8Array): boolean {
    return sameSecret(candidate, this.box.rootKeyOrThrow());
  }

  /**
   * New shares for the same keyring: a fresh root key seals it, the old shares stop working.
   * The caller has proved a quorum of the old shares.
   */
  async rekey(
    spec: ShareSpec,
    ctx: RequestContext,
    notice: (custodians: string[]) => EventNotice,
  ): Promise<RekeyResult> {
    const custodianKeys = await readShareSpec(spec);
    const config = await this.initializedConfig();
    const keyring = this.box.keyringOrThrow();
    const previousKeyring = config.sealedKeyring;
    const rootKey = randomBytes(KEY_BYTES);
    const encoded = encodeKeyring(keyring);
    const wipes = this.box.generation;
    try {
      const sealedKeyring = sealBytes(rootKey, encoded, KEYRING_AAD);
      const rawShares = await splitRootKey(rootKey, spec.secretShares, spec.secretThreshold);
      const custodians = custodianRecords(
        config.clusterId,
        rawShares,
        spec,
        custodianKeys,
        isoTime(this.clock),
      );
      const next = {
        secretShares: spec.secretShares,
        secretThreshold: spec.secretThreshold,
        sealedKeyring,
        pgpFingerprints: custodianKeys.map(fingerprintOf),
      };
      await this.audit.record(ctx, {
        action: "sys.rekey",
        outcome: "allowed",
        details: sharingDetails(next, custodians),
        notify: notice(custodians.map((c) => c.name)),
      });
      if (!(await this.store.rekeySeal(previousKeyring, next, custodians)))
        throw conflict(
          "the keyring changed while rekeying (a rotation or rekey on another node): start again",
        );
      this.config = { ...config, ...next };
      // Sealed meanwhile: the new shares are stored, so they are handed out, but no key is kept.
      if (this.box.generation === wipes) this.box.replaceRootKey(rootKey, sealedKeyring);
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
    const rotated = withNewDataKey(this.box.keyringOrThrow(), this.clock.now());
    const encoded = encodeKeyring(rotated);
    const wipes = this.box.generation;
    try {
      const sealedKeyring = sealBytes(this.box.rootKeyOrThrow(), encoded, KEYRING_AAD);
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
      if (this.box.generation !== wipes) {
        wipeKeyring(rotated); // sealed meanwhile: the rotation is stored, the keys are not kept
        throw sealedError();
      }
      this.box.replaceKeyring(rotated, sealedKeyring);
      const term = rotated.currentDataKeyVersion;
      return { term, installedAt: rotated.dataKeys.get(term)?.installedAt ?? 0 };
    } finally {
      encoded.fill(0);
    }
  }

  /** The current data key version (Vault's "term") and when it was added. */
  keyStatus(): { term: number; installedAt: number } {
    const keyring = this.box.keyringOrThrow();
    const term = keyring.currentDataKeyVersion;
    return { term, installedAt: keyring.dataKeys.get(term)?.installedAt ?? 0 };
  }

  /**
   * What a backup needs: the stored seal configuration and a key derived from the root key it is
   * sealed under. Refused when this node's root key no longer opens the stored keyring (another
   * node rekeyed): a backup must be restorable with the shares of its header.
   */
  async backupMaterial(): Promise<{ config: SealConfig; backupKey: Buffer }> {
    this.box.rootKeyOrThrow();
    const config = await this.store.readSealConfig();
    if (config === null) throw new BreakglassError("NOT_INITIALIZED", "Vault is not initialized");
    const rootKey = this.box.rootKeyOrThrow(); // again: the vault may have been sealed while reading
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
      this.box.hold(decodeKeyring(encoded), rootKey, config.sealedKeyring);
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
        const backupKey = backupKeyOf(this.box.rootKeyOrThrow(), config.clusterId);
        try {
          for (const hook of this.openedHooks) await hook({ backupKey, config }, ctx);
        } finally {
          backupKey.fill(0);
        }
      }
      if (!config.auditPublicKey) {
        // A vault initialised before checkpoints existed publishes its key on first unseal.
        config.auditPublicKey = publicKeyPem(publicKeyFromSeed(this.box.keyringOrThrow().auditSigningSeed));
        await this.store.setAuditPublicKey(config.auditPublicKey);
      }
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "allowed",
        details: { unsealed: true, custodian },
        notify: {
          type: "unseal",
          actor: actorLabel(ctx.actor),
          text: "breakglass was unsealed: codes can be read again",
        },
      });
    } catch (error) {
      this.wipe(); // an unseal that is not on the record does not happen
      throw error;
    }
  }

  private statusWith(config: SealConfig | null): SealStatus {
    return {
      initialized: config !== null,
      sealed: this.box.isSealed,
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
    // The box took up a keyring rotated or rekeyed on another node: the configuration cached here is stale.
    const held = this.box.sealedKeyring;
    if (held !== null && this.config !== null && !held.equals(this.config.sealedKeyring)) this.config = null;
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

/** How the root key is shared, as init and rekey record it: never a share. */
function sharingDetails(
  config: Pick<SealConfig, "secretShares" | "secretThreshold" | "pgpFingerprints">,
  custodians: readonly { name: string }[],
) {
  return {
    secret_shares: config.secretShares,
    secret_threshold: config.secretThreshold,
    pgp_fingerprints: config.pgpFingerprints.join(",") || null,
    custodians: custodians.map((c) => c.name).join(", "),
  };
}
