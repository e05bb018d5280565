// Over 400 lines: the whole schema, one interface per table, is one place (the store, backups and the migration tool read it).
import type { ColumnType } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import type { DeviceKind, DeviceStatus } from "../core/devices.js";
import type {
  ApprovalRecord,
  PasskeyPurpose,
  SecondFactorRecord,
  SecondFactorSealedAs,
  UserRecord,
} from "./store.js";

/**
 * The database schema, one interface per table. Binary values (ciphertexts) are stored as
 * base64 text and times as ISO-8601 text, so the schema is the same on SQLite and PostgreSQL.
 * Integers read as numbers on both engines (postgres.ts parses bigint); statuses and kinds are
 * the unions the code writes.
 */
export interface Database {
  seal_config: SealConfigTable;
  totp_keys: TotpKeyTable;
  tokens: TokenTable;
  audit_entries: AuditEntryTable;
  audit_sinks: AuditSinkTable;
  users: UserTable;
  groups: GroupTable;
  login_failures: LoginFailureTable;
  notify_webhooks: NotifyWebhookTable;
  notify_smtp: NotifySmtpTable;
  access_rules: AccessRuleTable;
  approvals: ApprovalTable;
  custodians: CustodianTable;
  restore_chunks: RestoreChunkTable;
  devices: DeviceTable;
  second_factors: SecondFactorTable;
  notification_outbox: NotificationOutboxTable;
  delivery_cursors: DeliveryCursorTable;
  leases: LeaseTable;
  dead_letters: DeadLetterTable;
  cluster_notices: ClusterNoticeTable;
  oidc_config: OidcConfigTable;
  oidc_roles: OidcRoleTable;
  oidc_states: OidcStateTable;
  oidc_identities: OidcIdentityTable;
  oidc_logins: OidcLoginTable;
  passkeys: PasskeyTable;
  passkey_challenges: PasskeyChallengeTable;
}

/** A yes/no column: SQLite has no boolean type, so both engines store the integer 0 or 1. */
export type Flag = 0 | 1;

/** The one way a boolean is written to a Flag column. */
export const flag = (value: boolean): Flag => (value ? 1 : 0);

export interface SealConfigTable {
  id: number;
  secret_shares: number;
  secret_threshold: number;
  /** The keyring, AES-256-GCM under the root key (base64). */
  keyring: string;
  pgp_fingerprints: string;
  cluster_id: string;
  created_at: string;
  /** The audit checkpoint verification key, PEM (public). */
  audit_public_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** Set by a restore until the first unseal applies it (JSON, no secret). */
  restore_pending: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface TotpKeyTable {
  name: string;
  issuer: string;
  account_name: string;
  algorithm: string;
  digits: number;
  period: number;
  skew: number;
  /** The seed, AES-256-GCM under data key `key_version`, associated data naming this row (base64). */
  seed_ciphertext: string;
  key_version: number;
  generated: Flag;
  created_at: string;
  created_by: string;
  /** The newest step whose code was accepted by validation; a code is accepted once. */
  last_accepted_step: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface TokenTable {
  /** HMAC-SHA-256 of the token under the keyring's token key (hex); the token itself is never stored. */
  token_hmac: string;
  accessor: string;
  display_name: string;
  policies: string;
  meta: string;
  parent_accessor: string | null;
  created_at: string;
  expires_at: string | null;
  username: ColumnType<string | null, string | null | undefined, string | null>;
  /**
   * Who answers for the token: `user:NAME` for a person's login and every token made from it or
   * by them; `token:ACCESSOR` of the root token (init, generate-root) for that token's line.
   */
  owner: string;
  /** Vault's `path`: where it was made (`auth/token/root`, `auth/token/create`, a login path). */
  path: string;
  /** The lifetime it was issued with, in seconds (0: no expiry). */
  creation_ttl: number;
  /** Vault's `explicit_max_ttl`: no renewal takes it past creation + this (0: no such cap). */
  explicit_max_ttl: number;
  /** 1 when its expiry may be pushed back by a renewal. */
  renewable: Flag;
  last_renewal_at: string | null;
}

export interface AuditEntryTable {
  seq: ColumnType<number, number, never>;
  time: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditEntry["outcome"];
  reason: string | null;
  request_id: string | null;
  remote_addr: string | null;
  user_agent: string | null;
  approval_ids: string;
  details: string;
  prev_hash: string;
  hash: string;
  /** The accessor and display name of the token the request came with (entries since 0009). */
  token: ColumnType<string | null, string | null | undefined, string | null>;
  token_name: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AuditSinkTable {
  name: string;
  type: string;
  description: string;
  /** Non-secret options as JSON. */
  options: string;
  required: Flag;
  /** Secret options (a webhook credential), AES-256-GCM under data key `key_version` (base64). */
  secret_ciphertext: string | null;
  key_version: number | null;
  updated_at: string;
}

export interface UserTable {
  username: string;
  /** argon2id, PHC string format. */
  password_hash: string;
  policies: string;
  display_name: string;
  email: string;
  created_at: string;
  updated_at: string;
  /** none, pending or enabled: written only together with the person's second_factors row. */
  mfa_state: ColumnType<MfaState | null, MfaState | null | undefined, MfaState | null>;
  require_mfa: ColumnType<Flag | null, Flag | null | undefined, Flag | null>;
  /** Blocked by an admin: no login, no token of theirs holds (null: never set). */
  disabled: ColumnType<Flag | null, Flag | null | undefined, Flag | null>;
  /** May sign in with the OpenID provider: set by an admin, or by the sign-in that created them. */
  sso: ColumnType<Flag | null, Flag | null | undefined, Flag | null>;
}

type MfaState = UserRecord["mfaState"];

export interface GroupTable {
  name: string;
  /** Usernames, as JSON. */
  members: string;
  policies: string;
  updated_at: string;
}

export interface NotifyWebhookTable {
  name: string;
  url: string;
  /** `"*"` or a JSON list of event types. */
  events: string;
  /** The signing secret, AES-256-GCM under data key `key_version`, associated data naming this row (base64). */
  secret_ciphertext: string;
  key_version: number;
  updated_at: string;
}

export interface NotifySmtpTable {
  /** Always 1: there is one mail server. */
  id: number;
  host: string;
  port: number;
  secure: Flag;
  from_address: string;
  /** JSON list of addresses. */
  to_addresses: string;
  username: string | null;
  events: string;
  /** The password, AES-256-GCM under data key `key_version` (base64). */
  password_ciphertext: string | null;
  key_version: number | null;
  updated_at: string;
}

export interface LoginFailureTable {
  /** `user:NAME` or `addr:ADDRESS`. */
  subject: string;
  /** Attempts counted in a row (each before its password is checked), less those that succeeded. */
  failures: number;
  /** When this run of failures began. */
  first_attempt_at: string | null;
  /** When the last attempt was counted: the lock it left runs from then. */
  last_attempt_at: string | null;
  /** When the attempt before the last was counted: the lock in force at the last one ran from then. */
  previous_attempt_at: string | null;
}

export interface AccessRuleTable {
  key_name: string;
  readers: string;
  approvers: string;
  approvals_required: number;
  require_reason: Flag;
  approval_ttl_seconds: number;
  notify: string;
  updated_at: string;
  /** A code read needs a fresh passkey assertion (0015; null before: no). */
  step_up: ColumnType<Flag | null, Flag | null | undefined, Flag | null>;
  /** An approval's vote needs a fresh passkey assertion (0015; null before: no). */
  approver_step_up: ColumnType<Flag | null, Flag | null | undefined, Flag | null>;
}

export interface ApprovalTable {
  id: string;
  key_name: string;
  requester: string;
  reason: string;
  status: ApprovalRecord["status"];
  approvals_required: number;
  /** [{approver, decision, comment, time}] as JSON. */
  votes: string;
  created_at: string;
  /** Set when approved: the read is allowed until then. */
  expires_at: string | null;
}

export interface CustodianTable {
  /** 1-based position of the share as it was handed out. */
  share_index: number;
  name: string;
  pgp_fingerprint: string | null;
  /** SHA-256 of the share with the cluster id (hex): recognises a share, cannot rebuild one. */
  share_hash: string;
  created_at: string;
  last_verified: string | null;
}

export interface RestoreChunkTable {
  seq: number;
  /** One encrypted chunk of a backup's body (base64), as it was in the file. */
  data: string;
}

export interface DeviceTable {
  id: string;
  kind: DeviceKind;
  serial: string;
  label: string;
  /** JSON list of credential or account names. */
  protects: string;
  location: string;
  custodian: string;
  /** YYYY-MM-DD or null. */
  battery_expires: string | null;
  review_by: string | null;
  notes: string;
  status: DeviceStatus;
  access_rule: string | null;
  checked_out_by: string | null;
  checked_out_at: string | null;
  checkout_reason: string | null;
  /** YYYY-MM-DD of the last reminder sent. */
  reminded_on: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * A person's own second factor for logging in (services/second-factor.ts): never a TOTP engine
 * key, so nothing under /v1/totp reaches it. One row per person, deleted with them.
 */
export interface SecondFactorTable {
  username: string;
  /** The seed, AES-256-GCM under data key `key_version`, associated data naming this row (base64). */
  seed_ciphertext: string;
  key_version: number;
  /**
   * Whose name the seed's associated data carries: `second_factors` (`second_factors/NAME/vN`), or
   * `totp_keys` (`totp_keys/userpass-mfa.NAME/vN`) for a factor enrolled before this table existed,
   * until the re-encryption at the next unseal seals it again as `second_factors`.
   */
  sealed_as: SecondFactorSealedAs;
  algorithm: string;
  digits: number;
  period: number;
  skew: number;
  /** pending (enrolled, not yet confirmed with a code) or enabled; always the same as users.mfa_state. */
  state: SecondFactorRecord["state"];
  /** The newest step whose code was accepted; a code is accepted once. */
  last_accepted_step: number | null;
  created_at: string;
  /** Null while pending, and for a factor enabled before this table existed (the time was not kept). */
  enabled_at: string | null;
}

/**
 * A notification event, written in the transaction of the audit entry that records it: `seq` is
 * that entry's (services/delivery). Pruned once every notification destination is past it.
 */
export interface NotificationOutboxTable {
  seq: number;
  /** The entry's time: how old an undelivered event is. */
  time: string;
  /** The event as JSON (services/notify/events.ts NotificationEvent). */
  event: string;
}

/** How far a destination (`webhook:NAME`, `smtp`, `sink:NAME`, `sink:NAME@NODE:PATH`) has been delivered. */
export interface DeliveryCursorTable {
  destination: string;
  /** The last seq delivered or given up on (outbox seq for notifications, audit seq for sinks). */
  position: number;
}

/** Work one node at a time does: a destination's delivery (`delivery:…`) or a cluster duty (`duty:…`). */
export interface LeaseTable {
  name: string;
  /** Who holds it: host/pid/random (services/delivery/leases.ts newHolder). */
  holder: string;
  /** Until when, in ms since the epoch on the holder's clock; after it, anyone may take it. */
  until_ms: number;
}

/** What a destination was given up on, with why; kept until redriven and delivered. */
export interface DeadLetterTable {
  /** `DESTINATION/SEQ`: one key column, as the migration to PostgreSQL copies in key order. */
  letter: string;
  destination: string;
  seq: number;
  /** What was to be sent (the event or the audit entry as JSON): redriven as it was. */
  payload: string;
  /** One line for people (the event's text, or the entry's action and target). */
  summary: string;
  error: string;
  attempts: number;
  dead_at: string;
  /** 1 once asked to be sent again, until delivered (or given up on again). */
  redrive: Flag;
}

/** A cluster-wide decision, stored once it is on the record (the bus-factor warning last told). */
export interface ClusterNoticeTable {
  name: string;
  value: string;
  at: string;
}

export interface OidcConfigTable {
  id: number;
  discovery_url: string;
  client_id: string;
  /** AES-256-GCM under data key `key_version` (base64); null for a public client. */
  client_secret_ciphertext: string | null;
  key_version: number | null;
  default_role: string;
  updated_at: string;
}

export interface OidcRoleTable {
  name: string;
  /** The role's settings as JSON (api/oidc.ts OidcRoleBody, checked when written). */
  spec: string;
  updated_at: string;
}

export interface OidcStateTable {
  state_hmac: string;
  role: string;
  redirect_uri: string;
  client_nonce_hmac: string | null;
  created_at: string;
  expires_at: string;
}

export interface OidcIdentityTable {
  subject_key: string;
  username: string;
  created_at: string;
}

export interface OidcLoginTable {
  accessor: string;
  role: string;
  username: string;
  subject_key: string;
  /** The provider's refresh token, AES-256-GCM under data key `key_version` (base64). */
  refresh_ciphertext: string | null;
  key_version: number | null;
  updated_at: string;
}
/**
 * A person's passkey (services/auth/passkeys.ts): a WebAuthn credential's id and public key, never
 * a secret. Deleted with the person, or all at once by an admin's reset.
 */
export interface PasskeyTable {
  /** The credential id, base64url. */
  id: string;
  username: string;
  name: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The authenticator's signature counter at the last use (0 for those that keep none). */
  counter: number;
  /** JSON array of transports (internal, usb, hybrid…), as the browser said at registration. */
  transports: string;
  device_type: string;
  backed_up: Flag;
  created_at: string;
  last_used_at: string | null;
}

/**
 * A WebAuthn challenge handed out and not yet used: taken (deleted) by the one request that
 * finishes its ceremony, on whichever node; expired ones are deleted when the next is handed out.
 */
export interface PasskeyChallengeTable {
  challenge: string;
  username: string;
  purpose: PasskeyPurpose;
  /** For a step-up: `ACTION TARGET`, the one use it allows; empty otherwise. */
  binding: string;
  created_at: string;
  expires_at: string;
}
