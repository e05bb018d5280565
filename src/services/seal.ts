import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { publicKeyFromSeed, publicKeyPem } from "../core/audit-checkpoint.js";
import { openBytes, sealBytes } from "../core/barrier.js";
import { decodeHexOrBase64 } from "../core/encoding.js";
import { BreakglassError, badInput, sealedError } from "../core/errors.js";
import {
  createKeyring,
  decodeKeyring,
  encodeKeyring,
  KEY_BYTES,
  type Keyring,
  wipeKeyring,
} from "../core/keyring.js";
import { encryptToKey, fingerprintOf, readPublicKey } from "../core/pgp.js";
import { checkShareCounts, combineShares, expectedShareLength, splitRootKey } from "../core/shamir.js";
import type { SealConfig, Store } from "../store/store.js";
import type { AuditLog } from "./audit.js";
import { actorLabel, type RequestContext } from "./context.js";
import type { Notifier } from "./notify/events.js";
import type { TokenService } from "./tokens.js";

/** Associated data of the keyring ciphertext: it opens only as the keyring. */
const KEYRING_AAD = "seal_config/1/keyring";

export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  threshold: number;
  shares: number;
  progress: number;
  nonce: string;
  clusterId: string | null;
}

export interface InitRequest {
  secretShares: number;
  secretThreshold: number;
  pgpKeys?: string[];
  rootTokenPgpKey?: string;
}

export interface InitResult {
  /** Shares as returned to the caller: raw, or OpenPGP messages when pgp_keys were given. */
  shares: Uint8Array[];
  rootToken: string;
}

/**
 * The seal: holds the keyring in memory only while unsealed. The root key exists only during
 * init and at the moment k shares combine; it is never stored.
 */
export class SealService {
  private keyring: Keyring | null = null;
  private config: SealConfig | null = null;
  private submittedShares: Buffer[] = [];
  private unsealNonce = "";
  private notifier: Notifier | null = null;

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

  async initialize(request: InitRequest, ctx: RequestContext): Promise<InitResult> {
    checkShareCounts(request.secretShares, request.secretThreshold);
    const pgpKeys = request.pgpKeys ?? [];
    if (pgpKeys.length > 0 && pgpKeys.length !== request.secretShares)
      throw badInput(
        `pgp_keys has ${pgpKeys.length} keys but secret_shares is ${request.secretShares}: give one key per share`,
      );
    const custodianKeys = await Promise.all(pgpKeys.map((text, i) => readPublicKey(text, `pgp_keys[${i}]`)));
    const rootTokenKey =
      request.rootTokenPgpKey !== undefined
        ? await readPublicKey(request.rootTokenPgpKey, "root_token_pgp_key")
        : null;
    if ((await this.loadConfig()) !== null)
      throw new BreakglassError("ALREADY_INITIALIZED", "Vault is already initialized");

    const rootKey = randomBytes(KEY_BYTES);
    const keyring = createKeyring();
    const encodedKeyring = encodeKeyring(keyring);
    try {
      const config: SealConfig = {
        secretShares: request.secretShares,
        secretThreshold: request.secretThreshold,
        sealedKeyring: sealBytes(rootKey, encodedKeyring, KEYRING_AAD),
        pgpFingerprints: custodianKeys.map(fingerprintOf),
        clusterId: randomUUID(),
        createdAt: new Date().toISOString(),
        auditPublicKey: publicKeyPem(publicKeyFromSeed(keyring.auditSigningSeed)),
      };
      const rawShares = await splitRootKey(rootKey, request.secretShares, request.secretThreshold);
      // Audited before the configuration is stored: a vault whose shares were never handed out is
      // unusable, so nothing is stored unless the record of it is.
      await this.audit.record(ctx, {
        action: "sys.init",
        outcome: "allowed",
        details: {
          secret_shares: request.secretShares,
          secret_threshold: request.secretThreshold,
          pgp_fingerprints: config.pgpFingerprints.join(",") || null,
        },
      });
      const rootToken = await this.tokens.issueRootToken(keyring.tokenHmacKey);
      if (!(await this.store.createSealConfig(config)))
        throw new BreakglassError("ALREADY_INITIALIZED", "Vault is already initialized");
      this.config = config;
      const shares = await Promise.all(
        rawShares.map(async (share, i) => {
          const key = custodianKeys[i];
          if (!key) return share;
          // As Vault: the custodian decrypts to the hex share, which `operator unseal` accepts as typed.
          const encrypted = await encryptToKey(key, Buffer.from(Buffer.from(share).toString("hex"), "utf8"));
          share.fill(0);
          return encrypted;
        }),
      );
      const tokenOut = rootTokenKey
        ? Buffer.from(await encryptToKey(rootTokenKey, Buffer.from(rootToken, "utf8"))).toString("base64")
        : rootToken;
      return { shares, rootToken: tokenOut };
    } finally {
      rootKey.fill(0);
      encodedKeyring.fill(0);
      wipeKeyring(keyring);
    }
  }

  /** Takes one share (hex or base64). Unseals when the threshold is reached and the shares open the keyring. */
  async submitShare(request: { key?: string; reset?: boolean }, ctx: RequestContext): Promise<SealStatus> {
    const config = await this.loadConfig();
    if (config === null) throw new BreakglassError("NOT_INITIALIZED", "Vault is not initialized");
    if (request.reset) {
      this.resetProgress();
      await this.audit.record(ctx, { action: "sys.unseal", outcome: "allowed", details: { reset: true } });
      return this.status();
    }
    if (request.key === undefined)
      throw badInput("'key' must be specified in request body as JSON, or 'reset' set to true");
    const share = decodeHexOrBase64(request.key, "key");
    const expected = expectedShareLength(config.secretThreshold, KEY_BYTES);
    if (share.length !== expected) {
      share.fill(0);
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "denied",
        details: { problem: "wrong share length" },
      });
      throw badInput(
        `key is not a share of this vault: a share is ${expected} bytes (${expected * 2} hex characters)`,
      );
    }
    if (this.keyring !== null || this.submittedShares.some((known) => timingSafeEqual(known, share))) {
      share.fill(0);
      return this.status();
    }
    if (this.submittedShares.length === 0) this.unsealNonce = randomUUID();
    this.submittedShares.push(share);
    if (this.submittedShares.length < config.secretThreshold) {
      await this.audit.record(ctx, {
        action: "sys.unseal",
        outcome: "allowed",
        details: { progress: this.submittedShares.length, threshold: config.secretThreshold },
      });
      return this.status();
    }
    await this.openKeyring(config, ctx);
    return this.status();
  }

  async seal(ctx: RequestContext): Promise<void> {
    await this.audit.record(ctx, { action: "sys.seal", outcome: "allowed" });
    this.wipe();
    const actor = actorLabel(ctx.actor);
    this.notifier?.notify({
      type: "seal",
      time: new Date().toISOString(),
      actor,
      text: `${actor} sealed breakglass: no code can be read until it is unsealed`,
      requestId: ctx.requestId,
    });
  }

  /** Drops every key from memory (also on shutdown). */
  wipe(): void {
    if (this.keyring) wipeKeyring(this.keyring);
    this.keyring = null;
    this.resetProgress();
  }

  /** The audit checkpoint verification key (PEM), public; null before init. */
  async auditPublicKey(): Promise<string | null> {
    return (await this.loadConfig())?.auditPublicKey ?? null;
  }

  keyringOrThrow(): Keyring {
    if (this.keyring === null) throw sealedError();
    return this.keyring;
  }

  /** Encrypts a secret value under the current data key; `aadFor` names the row and key version. */
  sealSecret(
    plaintext: Uint8Array,
    aadFor: (keyVersion: number) => string,
  ): { ciphertext: Buffer; keyVersion: number } {
    const keyring = this.keyringOrThrow();
    const keyVersion = keyring.currentDataKeyVersion;
    const key = keyring.dataKeys.get(keyVersion) as Buffer;
    return { ciphertext: sealBytes(key, plaintext, aadFor(keyVersion)), keyVersion };
  }

  openSecret(ciphertext: Uint8Array, keyVersion: number, aad: string): Buffer {
    const key = this.keyringOrThrow().dataKeys.get(keyVersion);
    if (!key) throw new Error(`data key version ${keyVersion} is not in the keyring`);
    return openBytes(key, ciphertext, aad);
  }

  private async openKeyring(config: SealConfig, ctx: RequestContext): Promise<void> {
    let rootKey: Uint8Array | null = null;
    let encoded: Buffer | null = null;
    try {
      rootKey = await combineShares(this.submittedShares, KEY_BYTES);
      encoded = openBytes(rootKey, config.sealedKeyring, KEYRING_AAD);
      this.keyring = decodeKeyring(encoded);
    } catch {
      // Wrong, forged or mixed-up shares: whatever the library or the cipher says, the answer is the same.
      this.resetProgress();
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
    this.resetProgress();
    try {
      if (!config.auditPublicKey) {
        // A vault initialised before checkpoints existed publishes its key on first unseal.
        config.auditPublicKey = publicKeyPem(publicKeyFromSeed(this.keyring.auditSigningSeed));
        await this.store.setAuditPublicKey(config.auditPublicKey);
      }
      await this.audit.record(ctx, { action: "sys.unseal", outcome: "allowed", details: { unsealed: true } });
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
      progress: this.submittedShares.length,
      nonce: this.unsealNonce,
      clusterId: config?.clusterId ?? null,
    };
  }

  private resetProgress(): void {
    for (const share of this.submittedShares) share.fill(0);
    this.submittedShares = [];
    this.unsealNonce = "";
  }

  private async loadConfig(): Promise<SealConfig | null> {
    if (this.config === null) this.config = await this.store.readSealConfig();
    return this.config;
  }
}
