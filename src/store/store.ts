import type { AuditEntry, AuditFields } from "../core/audit-chain.js";
import type { BackupRecord, BackupRow } from "../core/backup-file.js";
import type { DeviceRecord } from "../core/devices.js";

/** What a store tells the server about itself, for its metrics and log. */
export interface StoreEvents {
  /** An audit transaction committed this many entries. */
  auditTransaction?(entries: number): void;
  /** A call failed because the database is busy or cannot be reached (unavailable.ts); the cause as the driver gave it. */
  unavailable?(cause: unknown): void;
}

/**
 * What the services need from storage, and nothing else: one interface per aggregate, the first
 * ones flat on the store, the others nested. The Kysely code implements it on SQLite and
 * PostgreSQL (kysely-store.ts); services never see SQL or the engine.
 */
export interface Store
  extends SealConfigStore,
    TotpKeyStore,
    PeopleStore,
    LoginFailureStore,
    AuditStore,
    AuditSinkStore {
  readonly engine: "sqlite" | "postgres";
  /** A short description for status output: the file path or the database host. */
  readonly location: string;

  /** API tokens and their tree. */
  readonly tokens: TokenStore;

  /** Where notifications go: webhooks and the mail server. */
  readonly notifications: NotificationStore;

  /** Access rules per credential and approval requests. */
  readonly approvals: ApprovalStore;

  /** People's own second factors, apart from the TOTP engine's keys. */
  readonly secondFactors: SecondFactorStore;

  /** Physical MFA devices (hardware tokens, FIDO keys, recovery codes) and their reminders. */
  readonly devices: DeviceStore;

  /** Every sealed secret, whatever its table: for re-encryption under a new data key. */
  readonly secrets: SecretStore;

  /** Every table as raw rows for a backup; a restore's staged chunks, applied at the first unseal. */
  readonly backup: BackupStore;

  /** Resolves when the store answers; rejects when it cannot be reached. */
  ping(): Promise<void>;
  /** The database server's clock (ms since the epoch); null on SQLite, which has this machine's. */
  databaseTime(): Promise<number | null>;
  /**
   * Rejects while the store refuses writes (a full disk, a read-only database): a write as cheap
   * as the engine allows that leaves no row behind and adds nothing to the audit chain.
   */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}

/** The seal configuration (one row) and the custodians of its shares. */
export interface SealConfigStore {
  readSealConfig(): Promise<SealConfig | null>;
  /** Stores the seal configuration and its custodians once; false when the vault was already initialised. */
  createSealConfig(config: SealConfig, custodians: CustodianRecord[]): Promise<boolean>;
  /** Replaces the sealed keyring only if it is still `previous` (no concurrent change); false otherwise. */
  replaceSealKeyring(previous: Buffer, next: Buffer): Promise<boolean>;
  /**
   * A rekey: new share counts, keyring sealed under the new root key, and the new custodians, in
   * one transaction, only if the stored keyring is still `previousKeyring`; false otherwise.
   */
  rekeySeal(previousKeyring: Buffer, next: RekeyedSeal, custodians: CustodianRecord[]): Promise<boolean>;
  /** Records the audit checkpoint public key (PEM) beside the seal configuration. */
  setAuditPublicKey(pem: string): Promise<void>;
  listCustodians(): Promise<CustodianRecord[]>;
  markCustodianVerified(shareIndex: number, time: string): Promise<void>;
}

/** The TOTP engine's keys. */
export interface TotpKeyStore {
  insertTotpKey(key: TotpKeyRecord): Promise<boolean>;
  findTotpKey(name: string): Promise<TotpKeyRecord | null>;
  listTotpKeyNames(): Promise<string[]>;
  deleteTotpKey(name: string): Promise<boolean>;
  /** Records that the code of `step` was accepted, only if no later-or-equal step was; false otherwise. */
  acceptTotpStep(name: string, step: number): Promise<boolean>;
}

/** People (userpass users) and groups. */
export interface PeopleStore {
  findUser(username: string): Promise<UserRecord | null>;
  /**
   * Creates or replaces a user. An existing user's `mfaState` is kept as stored: only
   * `secondFactors` changes it, together with the factor.
   */
  putUser(user: UserRecord): Promise<void>;
  /** Deletes a user and their second factor, in one transaction. */
  deleteUser(username: string): Promise<boolean>;
  listUsernames(): Promise<string[]>;
  findGroup(name: string): Promise<GroupRecord | null>;
  putGroup(group: GroupRecord): Promise<void>;
  deleteGroup(name: string): Promise<boolean>;
  listGroups(): Promise<GroupRecord[]>;
}

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

/** The audit chain. */
export interface AuditStore {
  /**
   * Appends entries to the audit chain in one durable transaction: `link` receives the true head
   * (read under the engine's lock) and returns the linked entries to write. Resolves after commit.
   */
  appendAuditEntries(link: (head: AuditHead | null) => AuditEntry[]): Promise<AuditEntry[]>;
  listAuditEntries(filter: AuditFilter): Promise<AuditEntry[]>;
  /** The last entry of the audit chain (seq, hash, time), or null when it is empty. */
  readAuditHead(): Promise<AuditHead | null>;
}

/** Where audit entries are copied to, besides the chain. */
export interface AuditSinkStore {
  listAuditSinks(): Promise<AuditSinkRecord[]>;
  /** Creates or replaces a sink's configuration. */
  putAuditSink(sink: AuditSinkRecord): Promise<void>;
  deleteAuditSink(name: string): Promise<boolean>;
}

export interface SealConfig {
  secretShares: number;
  secretThreshold: number;
  sealedKeyring: Buffer;
  pgpFingerprints: string[];
  clusterId: string;
  createdAt: string;
  auditPublicKey?: string | null;
  /** Set by a restore until the first unseal applies the backup (opaque JSON, no secret). */
  restorePending?: string | null;
}

export interface RekeyedSeal {
  secretShares: number;
  secretThreshold: number;
  sealedKeyring: Buffer;
  pgpFingerprints: string[];
}

export interface CustodianRecord {
  /** 1-based position of the share as handed out. */
  shareIndex: number;
  name: string;
  pgpFingerprint: string | null;
  /** Recognises the share (see core/custody.ts); cannot rebuild it. */
  shareHash: string;
  createdAt: string;
  lastVerified: string | null;
}

export interface AuditSinkRecord {
  name: string;
  type: string;
  description: string;
  options: Record<string, unknown>;
  required: boolean;
  secretCiphertext: Buffer | null;
  keyVersion: number | null;
  updatedAt: string;
}

export interface TotpKeyRecord {
  name: string;
  issuer: string;
  accountName: string;
  algorithm: string;
  digits: number;
  period: number;
  skew: number;
  seedCiphertext: Buffer;
  keyVersion: number;
  generated: boolean;
  createdAt: string;
  createdBy: string;
  lastAcceptedStep: number | null;
}

export interface TokenRecord {
  tokenHmac: string;
  accessor: string;
  displayName: string;
  /** The roles it was made with; a person's login (username set) holds the person's roles instead. */
  policies: string[];
  meta: Record<string, string>;
  /** The token it was made from: revoking or expiring that one ends this one. Null for an orphan. */
  parentAccessor: string | null;
  createdAt: string;
  expiresAt: string | null;
  /** The person it logs in as (a login, or a browser session opened with one); null otherwise. */
  username: string | null;
  /**
   * Who answers for it: `user:NAME` for a person's login and every token made from it or by them;
   * `token:ACCESSOR` of the root token (init, generate-root) for that root token's line.
   */
  owner: string;
  /** Vault's `path`: `auth/token/root` (init, generate-root), `auth/token/create[-orphan]`, a login's path. */
  path: string;
  /** The lifetime it was issued with, in seconds (0: no expiry). */
  creationTtl: number;
  /** No renewal takes it past `createdAt` + this many seconds (0: no such cap). */
  explicitMaxTtl: number;
  renewable: boolean;
  lastRenewalAt: string | null;
}

export interface TokenStore {
  insert(token: TokenRecord): Promise<void>;
  /**
   * The token with this HMAC, then its parent, its parent's parent… in that order, as far as they
   * exist: a line that stops at a token which still names a parent lost that parent (revoked).
   * Empty when no token has this HMAC.
   */
  findLine(tokenHmac: string): Promise<TokenRecord[]>;
  findByAccessor(accessor: string): Promise<TokenRecord | null>;
  /** The accessors of the tokens not expired at `now`. */
  listAccessors(now: string): Promise<string[]>;
  /** Deletes the token and every token made from it, at any depth; returns the accessors deleted. */
  revokeTree(accessor: string): Promise<string[]>;
  /** Deletes every token `owner` answers for, with their trees; returns the accessors deleted. */
  revokeOwnedBy(owner: string): Promise<string[]>;
  /** Deletes the token alone, its children becoming orphans; returns how many were orphaned, or null if it was gone. */
  revokeOrphan(accessor: string): Promise<number | null>;
  /** A renewal: the new expiry, and when it was renewed. False when the token is gone. */
  renew(accessor: string, expiresAt: string, renewedAt: string): Promise<boolean>;
}

export interface UserRecord {
  username: string;
  passwordHash: string;
  policies: string[];
  displayName: string;
  email: string;
  createdAt: string;
  updatedAt: string;
  /** The person's own second factor: none, pending (made, not yet confirmed) or enabled. */
  mfaState: "none" | "pending" | "enabled";
  /** Set by an admin: until a second factor is enabled, the person can only enrol one. */
  requireMfa: boolean;
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

export interface GroupRecord {
  name: string;
  members: string[];
  policies: string[];
  updatedAt: string;
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

export interface AuditHead {
  seq: number;
  hash: string;
  /** The last entry's time: the next may not be dated before it. */
  time: string;
}

export interface AuditFilter {
  afterSeq?: number;
  outcome?: string;
  /** Entries whose reason contains this text (case-insensitive). */
  reasonContains?: string;
  since?: string;
  until?: string;
  actor?: string;
  action?: string;
  target?: string;
  limit?: number;
}

export type { AuditEntry, AuditFields };

export interface NotificationStore {
  listWebhooks(): Promise<NotifyWebhookRecord[]>;
  /** Creates or replaces a webhook. */
  putWebhook(webhook: NotifyWebhookRecord): Promise<void>;
  deleteWebhook(name: string): Promise<boolean>;
  readSmtp(): Promise<NotifySmtpRecord | null>;
  /** Creates or replaces the one mail server. */
  putSmtp(smtp: NotifySmtpRecord): Promise<void>;
  deleteSmtp(): Promise<boolean>;
}

/** Event types a destination gets: every one, or those listed. */
export type EventFilter = "*" | string[];

export interface NotifyWebhookRecord {
  name: string;
  url: string;
  events: EventFilter;
  secretCiphertext: Buffer;
  keyVersion: number;
  updatedAt: string;
}

export interface NotifySmtpRecord {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  to: string[];
  username: string | null;
  events: EventFilter;
  passwordCiphertext: Buffer | null;
  keyVersion: number | null;
  updatedAt: string;
}

export interface ApprovalStore {
  findRule(keyName: string): Promise<AccessRuleRecord | null>;
  putRule(rule: AccessRuleRecord): Promise<void>;
  deleteRule(keyName: string): Promise<void>;
  insertApproval(approval: ApprovalRecord): Promise<void>;
  findApproval(id: string): Promise<ApprovalRecord | null>;
  /** Newest first, at most 1000; all statuses when null. */
  listApprovals(status: ApprovalRecord["status"] | null): Promise<ApprovalRecord[]>;
  /** Writes `next` only if the request is still as `previous` (no concurrent vote); false otherwise. */
  updateApproval(previous: ApprovalRecord, next: ApprovalRecord): Promise<boolean>;
}

export interface AccessRuleRecord {
  keyName: string;
  readers: string[];
  approvers: string[];
  approvalsRequired: number;
  requireReason: boolean;
  approvalTtlSeconds: number;
  notify: string[];
  updatedAt: string;
}

export interface ApprovalVote {
  approver: string;
  decision: "approved" | "denied";
  comment: string | null;
  time: string;
}

export interface ApprovalRecord {
  id: string;
  keyName: string;
  /** `user:NAME` or `token:ACCESSOR`. */
  requester: string;
  reason: string;
  status: "pending" | "approved" | "denied";
  approvalsRequired: number;
  votes: ApprovalVote[];
  createdAt: string;
  /** When approved: reads are allowed until then. */
  expiresAt: string | null;
}

/** The kinds of row that hold a secret sealed under a data key. */
export type SealedRowKind =
  | "totp_seed"
  | "second_factor_seed"
  | "audit_sink_secret"
  | "notify_webhook_secret"
  | "notify_smtp_password";

/** One sealed secret: its row's id (a name, or "1" for the one mail server), ciphertext and key version. */
export interface SealedRow {
  id: string;
  ciphertext: Buffer;
  keyVersion: number;
  /** For a kind that records it (second factors): whose name the associated data carries. */
  sealedAs?: string;
}

export interface SecretStore {
  /**
   * Up to `limit` rows of `kind` sealed under a version older than `version`, or sealed as another
   * row's (`sealedAs`), by id, after id `after`.
   */
  listSealedBefore(
    kind: SealedRowKind,
    version: number,
    after: string | null,
    limit: number,
  ): Promise<SealedRow[]>;
  /**
   * Replaces one row's ciphertext and key version (sealed as its own row) only if both are still
   * `previous`'s; false otherwise (the row was deleted or rewritten meanwhile, and that change wins).
   */
  replaceSealed(
    kind: SealedRowKind,
    previous: SealedRow,
    next: { ciphertext: Buffer; keyVersion: number },
  ): Promise<boolean>;
  /** How many sealed secrets there are under each data key version, all kinds together. */
  countByKeyVersion(): Promise<Map<number, number>>;
}

export interface BackupStore {
  /** The migrations applied to this database, in order: a backup restores only into the same. */
  schemaVersion(): Promise<string[]>;
  /**
   * A consistent snapshot of every table but seal_config and restore_chunks (the seal
   * configuration travels in a backup's header). Close it when done, also when abandoned.
   */
  openSnapshot(): Promise<BackupSnapshot>;
  /** Keeps one encrypted chunk of a backup being restored, as it was in the file. */
  stageChunk(index: number, payload: Buffer): Promise<void>;
  clearStagedChunks(): Promise<void>;
  /**
   * In one transaction: takes the restore pending as `restore.pending` (null when it is no
   * longer pending: another node applied it), inserts every row of the staged chunks, clears
   * them, and links the audit entries written since the restore after the restored chain.
   * Returns the rows inserted per table.
   */
  applyStagedRestore(restore: StagedRestore): Promise<Record<string, number> | null>;
}

export interface BackupSnapshot {
  /** Rows per table, as of the snapshot. */
  readonly counts: Record<string, number>;
  /** The sealed keyring as of the snapshot: every row in it is sealed under one of its data keys. */
  readonly sealedKeyring: Buffer | null;
  /** The rows of every table, a page at a time, in primary key order. */
  pages(): AsyncGenerator<{ table: string; rows: BackupRow[] }>;
  /** Ends the snapshot; safe to call more than once. */
  close(): Promise<void>;
}

export interface StagedRestore {
  /** seal_config.restore_pending as read: the restore applies only if it is still the same. */
  pending: string;
  chunks: number;
  /** Rows per table the backup's header announced; any difference undoes the restore. */
  counts: Record<string, number>;
  /** The rows of staged chunk `index`; throws BAD_INPUT when it does not open. */
  open(index: number, payload: Buffer): BackupRecord[];
  /** The entries written since the restore (its unseal), linked again after the restored head. */
  relink(head: AuditHead | null, displaced: AuditEntry[]): AuditEntry[];
}

export type { DeviceRecord };

export interface DeviceStore {
  /** False when the id is taken. */
  insert(device: DeviceRecord): Promise<boolean>;
  find(id: string): Promise<DeviceRecord | null>;
  /** Every device, oldest first (a registry holds dozens, not thousands). */
  list(): Promise<DeviceRecord[]>;
  /** Writes `next` only if the row is still as `previous` (updated_at and status): false on a concurrent change. */
  update(previous: DeviceRecord, next: DeviceRecord): Promise<boolean>;
  /** Sets reminded_on to `day` only if it is not already `day`: true for the one caller that should send. */
  claimReminder(id: string, day: string): Promise<boolean>;
}
