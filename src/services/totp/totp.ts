// Over 400 lines: a credential's keys and its codes share one key cache and one seed cache (wiped at seal); apart, both would be shared across two classes.
import { type Clock, isoTime } from "../../core/clock.js";
import { decodeBase64 } from "../../core/encoding.js";
import { badInput, conflict, notFound } from "../../core/errors.js";
import { parseMigrationUri } from "../../core/google-migration.js";
import { checkKeyName, keyNameFor } from "../../core/key-names.js";
import { type ImportedKey, parseOtpauthUri } from "../../core/otpauth-uri.js";
import {
  checkParameters,
  codeForStep,
  enrolmentUri,
  generateSeed,
  MAX_SEED_BYTES,
  MIN_SEED_BYTES,
  matchingStep,
  seedFromBase32,
  stepAt,
  type TotpParameters,
} from "../../core/totp.js";
import type { Store, TotpKeyRecord } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Authorizer } from "../auth/authorizer.js";
import type { StepUpProof, StepUpService } from "../auth/step-up.js";
import { actorLabel, type RequestContext } from "../context.js";
import { TtlCache } from "../node/ttl-cache.js";
import type { SecretBox } from "../seal/secret-box.js";
import { type Enrolment, enrolmentOf } from "./enrolment.js";
import { qrReader } from "./qr-reader.js";
import { SeedCache } from "./seed-cache.js";

export interface KeyInput {
  generate?: boolean;
  exported?: boolean;
  keySize?: number;
  qrSize?: number;
  url?: string;
  key?: string;
  qrImage?: string;
  issuer?: string;
  accountName?: string;
  algorithm?: string;
  digits?: number;
  period?: number;
  skew?: number;
}

/** What anyone may know of a key: everything but the seed ciphertext and validation state. */
export type KeyMetadata = Omit<TotpKeyRecord, "seedCiphertext" | "keyVersion" | "lastAcceptedStep">;

/** Returned once, by `generate` with `exported`: the only time a seed leaves the server. */
export interface ReleasedCode {
  code: string;
  nextCode: string | null;
  algorithm: string;
  digits: number;
  period: number;
  step: number;
  validFrom: number;
  expiresAt: number;
}

export interface ImportSummary {
  imported: { name: string; issuer: string; accountName: string }[];
  skipped: { label: string; why: string }[];
}

const DEFAULT_SKEW = 1;
const KEY_CACHE_MS = 1_000; // a deletion on another node is in force here within this
const SEED_CACHE_ENTRIES = 10_000;
const target = (name: string) => `totp/keys/${name}`;
/** Associated data of a key's sealed seed: it opens only as that key's, at that key version. */
export const seedAad = (name: string) => (keyVersion: number) => `totp_keys/${name}/v${keyVersion}`;

/** The TOTP engine: seeds go in, codes come out, and every code is on the audit chain before it leaves. */
export class TotpService {
  /** Key rows for code reads (ciphertext and parameters only; validation always reads the store). */
  private readonly keyCache: TtlCache<TotpKeyRecord>;
  /** Seeds opened for code reads, overwritten when the vault is sealed. */
  private readonly seeds = new SeedCache(SEED_CACHE_ENTRIES);

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly authorizer: Authorizer,
    private readonly stepUp: StepUpService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    this.keyCache = new TtlCache(KEY_CACHE_MS, clock);
    box.onWipe(() => this.seeds.wipe());
  }

  async createKey(name: string, input: KeyInput, ctx: RequestContext): Promise<Enrolment | null> {
    checkKeyName(name);
    const sources = (["generate", "url", "key", "qrImage"] as const).filter((field) => Boolean(input[field]));
    if (sources.length !== 1) throw badInput("give exactly one of: generate, url, key, qr_image");
    const skew = input.skew ?? DEFAULT_SKEW;
    if (skew !== 0 && skew !== 1) throw badInput("skew must be 0 or 1");

    const imported = await this.readKeyInput(input);
    try {
      if (await this.store.findTotpKey(name)) throw alreadyExists(name);
      const source = input.qrImage ? "qr_image" : (sources[0] as string);
      const exported = Boolean(input.generate) && input.exported !== false;
      await this.storeKey(
        name,
        imported,
        { skew, generated: Boolean(input.generate), source, exported },
        ctx,
      );
      return exported ? await enrolmentOf(imported.seed, imported, input.qrSize) : null;
    } finally {
      imported.seed.fill(0);
    }
  }

  /** Imports every account of a Google Authenticator export; key names come from issuer and account. */
  async importGoogleAuthenticator(
    input: { url?: string; qrImage?: string; prefix?: string },
    ctx: RequestContext,
  ): Promise<ImportSummary> {
    if (Boolean(input.url) === Boolean(input.qrImage)) throw badInput("give exactly one of: url, qr_image");
    const prefix = input.prefix ?? "";
    if (prefix) checkKeyName(`${prefix}x`);
    const text = input.url ?? (await qrReader.read(decodeBase64(input.qrImage as string, "qr_image")));
    const migration = parseMigrationUri(text);
    const summary: ImportSummary = { imported: [], skipped: migration.skipped };
    const taken = new Set(await this.store.listTotpKeyNames());
    try {
      // Every name is checked before the first key is stored: a refused import stores nothing.
      const names = migration.keys.map((key) => {
        const name = checkKeyName(uniqueName(`${prefix}${keyNameFor(key.issuer, key.accountName)}`, taken));
        taken.add(name);
        return name;
      });
      for (const [i, key] of migration.keys.entries()) {
        const name = names[i] as string;
        await this.storeKey(
          name,
          key,
          { skew: DEFAULT_SKEW, generated: false, source: "google-authenticator", exported: false },
          ctx,
        );
        summary.imported.push({ name, issuer: key.issuer, accountName: key.accountName });
      }
    } finally {
      for (const key of migration.keys) key.seed.fill(0);
    }
    return summary;
  }

  async readKey(name: string, ctx: RequestContext): Promise<KeyMetadata> {
    const key = await this.store.findTotpKey(name);
    await this.audit.record(ctx, {
      action: "totp.key.read",
      target: target(name),
      outcome: key ? "allowed" : "failed",
    });
    if (!key) throw notFound(`no key named ${name}`);
    return metadataOf(key);
  }

  async listKeys(ctx: RequestContext): Promise<string[]> {
    const names = await this.store.listTotpKeyNames();
    await this.audit.record(ctx, {
      action: "totp.key.list",
      target: "totp/keys",
      outcome: "allowed",
      details: { count: names.length },
    });
    return names;
  }

  async deleteKey(name: string, ctx: RequestContext): Promise<void> {
    const exists = (await this.store.findTotpKey(name)) !== null;
    await this.audit.record(ctx, {
      action: "totp.key.delete",
      target: target(name),
      outcome: exists ? "allowed" : "failed",
    });
    if (exists) await this.store.deleteTotpKey(name);
    this.keyCache.delete(name);
    this.seeds.forget(name);
  }

  /** The current code (and the next, for enrolment), released only after its audit entry is committed. */
  async releaseCode(
    name: string,
    options: {
      reason: string | null;
      enroll: boolean;
      approvalId: string | null;
      stepUp?: StepUpProof | null;
    },
    ctx: RequestContext,
  ): Promise<ReleasedCode> {
    const action = options.enroll ? "totp.code.enroll" : "totp.code.read";
    const { reader, reason, rule, approval } = await this.authorizer.enforceUse(ctx, {
      action,
      target: target(name),
      use: {
        keyName: name,
        reason: options.reason,
        approvalId: options.approvalId,
        terms: {
          what: `reading ${name}`,
          noReason: "a reason is required to read this credential",
        },
      },
      entry: { reason: options.reason, approvalIds: options.approvalId ? [options.approvalId] : [] },
    });
    // A rule with step_up: a fresh passkey touch bound to reading this credential (an enrolment read too).
    const passkey = rule?.stepUp
      ? await this.stepUp.require(ctx, { action: "totp.code.read", target: name }, options.stepUp ?? null, {
          action,
          target: target(name),
          reason,
          approvalIds: approval ? [approval.id] : [],
        })
      : null;
    const key = await this.keyCache.getOrLoad(name, () => this.store.findTotpKey(name));
    if (!key) {
      this.seeds.forget(name); // deleted on another node
      await this.audit.record(ctx, {
        action,
        target: target(name),
        outcome: "failed",
        reason,
        details: { problem: "unknown key" },
      });
      throw badInput(`unknown key: ${name}`);
    }
    const step = stepAt(key.period, this.clock.now() / 1000);
    await this.audit.record(ctx, {
      action,
      target: target(name),
      outcome: "allowed",
      reason,
      approvalIds: approval ? [approval.id] : [],
      details: {
        step,
        ...(approval ? { approvers: approval.approvers.join(",") } : {}),
        ...(passkey ? { passkey } : {}),
      },
      notify: {
        type: "code.read",
        actor: reader.owner,
        key: name,
        reason,
        ...(approval ? { approvalId: approval.id, approvers: approval.approvers } : {}),
        ...(rule?.notify.length ? { channels: rule.notify } : {}),
        text: `${reader.owner} read the code of ${name}${reason ? `: "${reason}"` : ""}${approval ? ` (approved by ${approval.approvers.join(", ")})` : ""}`,
      },
    });
    await this.box.takeUpKeyVersion(key.keyVersion); // a row re-encrypted by a node that rotated
    // Nothing awaits from here to the code: a seal or an eviction cannot overwrite the seed in use.
    const seed = this.seeds.seedFor(name, key.keyVersion, key.seedCiphertext, () => this.openSeedNow(key));
    const params = checkParameters(key);
    const current = codeForStep(seed, params, step);
    const next = options.enroll ? codeForStep(seed, params, step + 1).code : null;
    return { ...current, nextCode: next, algorithm: key.algorithm, digits: key.digits, period: key.period };
  }

  /**
   * Checks a code; each code is accepted once, and never one older than the last accepted. Only
   * those the credential's rule lets read it may ask: an answer says whether a guess was right.
   */
  async validateCode(name: string, code: string, ctx: RequestContext): Promise<boolean> {
    // Only readers under the rule: an answer says whether a guess was right.
    await this.authorizer.enforceUse(ctx, {
      action: "totp.code.validate",
      target: target(name),
      use: { keyName: name, reason: null, approvalId: null },
    });
    const key = await this.store.findTotpKey(name);
    if (!key) throw badInput(`unknown key: ${name}`);
    if (!/^[0-9]{1,16}$/.test(code)) throw badInput(`code must be ${key.digits} digits`);
    // A code of another length is simply not this key's code: Vault answers valid: false too.
    let step: number | null = null;
    if (code.length === key.digits) {
      const seed = await this.openSeed(key);
      try {
        step = matchingStep(seed, checkParameters(key), code, this.clock.now() / 1000, key.skew);
      } finally {
        seed.fill(0);
      }
    }
    const accepted = step !== null && (await this.store.acceptTotpStep(name, step));
    await this.audit.record(ctx, {
      action: "totp.code.validate",
      target: target(name),
      outcome: "allowed",
      details: { valid: accepted, reused: step !== null && !accepted },
    });
    return accepted;
  }

  private async readKeyInput(input: KeyInput): Promise<ImportedKey> {
    if (input.generate) {
      if (!input.issuer || !input.accountName) throw badInput("generate needs both issuer and account_name");
      const keySize = input.keySize ?? 20;
      if (!Number.isInteger(keySize) || keySize < MIN_SEED_BYTES || keySize > MAX_SEED_BYTES)
        throw badInput(`key_size must be from ${MIN_SEED_BYTES} to ${MAX_SEED_BYTES} bytes`);
      const params = checkParameters({
        algorithm: input.algorithm ?? "SHA1",
        digits: input.digits ?? 6,
        period: input.period ?? 30,
      });
      return { seed: generateSeed(keySize), issuer: input.issuer, accountName: input.accountName, ...params };
    }
    if (input.url) return parseOtpauthUri(input.url, input.issuer);
    if (input.qrImage) {
      const text = await qrReader.read(decodeBase64(input.qrImage, "qr_image"));
      if (text.startsWith("otpauth-migration:"))
        throw badInput(
          "this QR code is a Google Authenticator export: import it with import-google-authenticator",
        );
      if (!text.startsWith("otpauth://")) throw badInput("the QR code in the image is not an otpauth:// URI");
      return parseOtpauthUri(text, input.issuer);
    }
    const params = checkParameters({
      algorithm: input.algorithm ?? "SHA1",
      digits: input.digits ?? 6,
      period: input.period ?? 30,
    });
    const seed = seedFromBase32(input.key ?? "", "the secret (base32)");
    return { seed, issuer: input.issuer ?? "", accountName: input.accountName ?? "", ...params };
  }

  private async storeKey(
    name: string,
    key: ImportedKey,
    how: { skew: number; generated: boolean; source: string; exported: boolean },
    ctx: RequestContext,
  ): Promise<void> {
    const { ciphertext, keyVersion } = this.box.sealSecret(key.seed, seedAad(name));
    await this.audit.record(ctx, {
      action: "totp.key.write",
      target: target(name),
      outcome: "allowed",
      details: {
        source: how.source,
        issuer: key.issuer,
        account_name: key.accountName,
        algorithm: key.algorithm,
        exported: how.exported,
      },
    });
    const inserted = await this.store.insertTotpKey({
      name,
      issuer: key.issuer,
      accountName: key.accountName,
      algorithm: key.algorithm,
      digits: key.digits,
      period: key.period,
      skew: how.skew,
      seedCiphertext: ciphertext,
      keyVersion,
      generated: how.generated,
      createdAt: isoTime(this.clock),
      createdBy: actorLabel(ctx.actor),
      lastAcceptedStep: null,
    });
    if (!inserted) throw alreadyExists(name);
  }

  /**
   * The key as an otpauth URI, for the quorum seed export only (services/custody/seed-export.ts):
   * nothing else ever reads a seed back. The caller audits and encrypts it before it leaves.
   */
  async enrolmentUriOf(name: string): Promise<string> {
    const key = await this.store.findTotpKey(name);
    if (!key) throw notFound(`no key named ${name}`);
    const seed = await this.openSeed(key);
    try {
      return enrolmentUri(seed, {
        issuer: key.issuer,
        accountName: key.accountName,
        algorithm: key.algorithm as TotpParameters["algorithm"],
        digits: key.digits as TotpParameters["digits"],
        period: key.period,
      });
    } finally {
      seed.fill(0);
    }
  }

  /** A fresh copy of the seed, for the caller to overwrite when done. */
  private async openSeed(key: TotpKeyRecord): Promise<Buffer> {
    await this.box.takeUpKeyVersion(key.keyVersion); // a row re-encrypted by a node that rotated
    return this.openSeedNow(key);
  }

  private openSeedNow(key: TotpKeyRecord): Buffer {
    return this.box.openSecret(key.seedCiphertext, key.keyVersion, seedAad(key.name)(key.keyVersion));
  }
}

function alreadyExists(name: string) {
  return conflict(
    `a key named ${name} already exists: delete it first (a seed is never overwritten in place)`,
  );
}

function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

function metadataOf(key: TotpKeyRecord): KeyMetadata {
  const { seedCiphertext: _seed, keyVersion: _version, lastAcceptedStep: _step, ...metadata } = key;
  return metadata;
}
