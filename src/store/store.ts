import type { ApprovalStore } from "./contracts/approvals.js";
import type { AuditStore } from "./contracts/audit.js";
import type { AuditSinkStore } from "./contracts/audit-sinks.js";
import type { BackupStore } from "./contracts/backup.js";
import type { DeliveryStore } from "./contracts/delivery.js";
import type { DeviceStore } from "./contracts/devices.js";
import type { LoginFailureStore } from "./contracts/login-failures.js";
import type { NotificationStore } from "./contracts/notifications.js";
import type { OidcStore } from "./contracts/oidc.js";
import type { PasskeyStore } from "./contracts/passkeys.js";
import type { PeopleStore } from "./contracts/people.js";
import type { SealConfigStore } from "./contracts/seal.js";
import type { SecondFactorStore } from "./contracts/second-factors.js";
import type { SecretStore } from "./contracts/secrets.js";
import type { TokenStore } from "./contracts/tokens.js";
import type { TotpKeyStore } from "./contracts/totp-keys.js";

// Each aggregate's contract and records are in contracts/; services import them from here.
export type { AuditEntry, AuditFields } from "../core/audit-chain.js";
export type { DeviceRecord } from "../core/devices.js";
export type { AccessRuleRecord, ApprovalRecord, ApprovalStore, ApprovalVote } from "./contracts/approvals.js";
export type { AuditFilter, AuditHead, AuditStore } from "./contracts/audit.js";
export type { AuditSinkRecord, AuditSinkStore } from "./contracts/audit-sinks.js";
export type { BackupSnapshot, BackupStore, StagedRestore } from "./contracts/backup.js";
export type { DeadLetterRecord, DeliveryStore, OutboxEvent } from "./contracts/delivery.js";
export type { DeviceStore } from "./contracts/devices.js";
export type { CountedLoginAttempt, LoginFailureStore, LoginFailures } from "./contracts/login-failures.js";
export type {
  EventFilter,
  NotificationStore,
  NotifySmtpRecord,
  NotifyWebhookRecord,
} from "./contracts/notifications.js";
export type {
  OidcConfigRecord,
  OidcIdentityRecord,
  OidcLoginRecord,
  OidcRoleRecord,
  OidcStateRecord,
  OidcStore,
} from "./contracts/oidc.js";
export type {
  PasskeyChallengeRecord,
  PasskeyPurpose,
  PasskeyRecord,
  PasskeyStore,
} from "./contracts/passkeys.js";
export type { GroupRecord, PeopleStore, UserRecord } from "./contracts/people.js";
export type { CustodianRecord, RekeyedSeal, SealConfig, SealConfigStore } from "./contracts/seal.js";
export type {
  SecondFactorRecord,
  SecondFactorSealedAs,
  SecondFactorStore,
} from "./contracts/second-factors.js";
export type { SealedRow, SealedRowKind, SecretStore } from "./contracts/secrets.js";
export type { TokenRecord, TokenStore } from "./contracts/tokens.js";
export type { TotpKeyRecord, TotpKeyStore } from "./contracts/totp-keys.js";

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

  /** People's passkeys (public keys) and the challenges handed out for them. */
  readonly passkeys: PasskeyStore;

  /** Physical MFA devices (hardware tokens, FIDO keys, recovery codes) and their reminders. */
  readonly devices: DeviceStore;

  /** The notification outbox, destinations' positions, leases, dead letters (services/delivery). */
  readonly delivery: DeliveryStore;

  /** Sign-in with an OpenID provider: its settings, sign-ins in flight, bound accounts, refresh tokens. */
  readonly oidc: OidcStore;

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
