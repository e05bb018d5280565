import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type { AuditEntry } from "../core/audit-chain.js";
import { type AuditAppender, readAuditHead } from "./audit-appenders.js";
import { KyselyApprovalStore } from "./kysely-approvals.js";
import { KyselyBackupStore } from "./kysely-backup.js";
import { KyselyDeviceStore } from "./kysely-devices.js";
import { KyselyNotificationStore } from "./kysely-notifications.js";
import { KyselySecondFactorStore } from "./kysely-second-factors.js";
import { KyselySecretStore } from "./kysely-secrets.js";
import { KyselyTokenStore } from "./kysely-tokens.js";
import type { AuditEntryTable, Database, GroupTable, TotpKeyTable } from "./schema.js";
import type {
  ApprovalStore,
  AuditFilter,
  AuditHead,
  AuditSinkRecord,
  BackupStore,
  CountedLoginAttempt,
  CustodianRecord,
  DeviceStore,
  GroupRecord,
  LoginFailures,
  NotificationStore,
  RekeyedSeal,
  SealConfig,
  SecondFactorStore,
  SecretStore,
  Store,
  TokenStore,
  TotpKeyRecord,
  UserRecord,
} from "./store.js";

/** What differs between engines; everything else is the same Kysely code. */
export interface EngineSpecifics {
  engine: Store["engine"];
  location: string;
  auditAppender: AuditAppender;
  /** Takes the lock every node takes before appending to the audit chain (PostgreSQL); none on SQLite. */
  lockAuditChain?: (trx: Transaction<Database>) => Promise<void>;
  close(): Promise<void>;
}

export class KyselyStore implements Store {
  readonly engine: Store["engine"];
  readonly location: string;
  readonly approvals: ApprovalStore;
  readonly devices: DeviceStore;
  readonly notifications: NotificationStore;
  readonly backup: BackupStore;
  readonly secrets: SecretStore;
  readonly tokens: TokenStore;
  readonly secondFactors: SecondFactorStore;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly specifics: EngineSpecifics,
  ) {
    this.engine = specifics.engine;
    this.location = specifics.location;
    this.approvals = new KyselyApprovalStore(db);
    this.devices = new KyselyDeviceStore(db);
    this.notifications = new KyselyNotificationStore(db);
    this.backup = new KyselyBackupStore(db, specifics);
    this.secrets = new KyselySecretStore(db);
    this.tokens = new KyselyTokenStore(db);
    this.secondFactors = new KyselySecondFactorStore(db);
  }

  async readSealConfig(): Promise<SealConfig | null> {
    const row = await this.db.selectFrom("seal_config").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!row) return null;
    return {
      secretShares: Number(row.secret_shares),
      secretThreshold: Number(row.secret_threshold),
      sealedKeyring: Buffer.from(row.keyring, "base64"),
      pgpFingerprints: JSON.parse(row.pgp_fingerprints),
      clusterId: row.cluster_id,
      createdAt: row.created_at,
      auditPublicKey: row.audit_public_key,
      restorePending: row.restore_pending,
    };
  }

  async createSealConfig(config: SealConfig, custodians: CustodianRecord[]): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .insertInto("seal_config")
        .values({
          id: 1,
          secret_shares: config.secretShares,
          secret_threshold: config.secretThreshold,
          keyring: config.sealedKeyring.toString("base64"),
          pgp_fingerprints: JSON.stringify(config.pgpFingerprints),
          cluster_id: config.clusterId,
          created_at: config.createdAt,
          audit_public_key: config.auditPublicKey ?? null,
          restore_pending: config.restorePending ?? null,
        })
        .onConflict((oc) => oc.column("id").doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      await insertCustodians(trx, custodians);
      return true;
    });
  }

  async replaceSealKeyring(previous: Buffer, next: Buffer): Promise<boolean> {
    const result = await this.db
      .updateTable("seal_config")
      .set({ keyring: next.toString("base64") })
      .where("id", "=", 1)
      .where("keyring", "=", previous.toString("base64"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async rekeySeal(
    previousKeyring: Buffer,
    next: RekeyedSeal,
    custodians: CustodianRecord[],
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable("seal_config")
        .set({
          secret_shares: next.secretShares,
          secret_threshold: next.secretThreshold,
          keyring: next.sealedKeyring.toString("base64"),
          pgp_fingerprints: JSON.stringify(next.pgpFingerprints),
        })
        .where("id", "=", 1)
        .where("keyring", "=", previousKeyring.toString("base64"))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx.deleteFrom("custodians").execute();
      await insertCustodians(trx, custodians);
      return true;
    });
  }

  async listCustodians(): Promise<CustodianRecord[]> {
    const rows = await this.db.selectFrom("custodians").selectAll().orderBy("share_index").execute();
    return rows.map((row) => ({
      shareIndex: Number(row.share_index),
      name: row.name,
      pgpFingerprint: row.pgp_fingerprint,
      shareHash: row.share_hash,
      createdAt: row.created_at,
      lastVerified: row.last_verified,
    }));
  }

  async markCustodianVerified(shareIndex: number, time: string): Promise<void> {
    await this.db
      .updateTable("custodians")
      .set({ last_verified: time })
      .where("share_index", "=", shareIndex)
      .execute();
  }

  async insertTotpKey(key: TotpKeyRecord): Promise<boolean> {
    const result = await this.db
      .insertInto("totp_keys")
      .values({
        name: key.name,
        issuer: key.issuer,
        account_name: key.accountName,
        algorithm: key.algorithm,
        digits: key.digits,
        period: key.period,
        skew: key.skew,
        seed_ciphertext: key.seedCiphertext.toString("base64"),
        key_version: key.keyVersion,
        generated: key.generated ? 1 : 0,
        created_at: key.createdAt,
        created_by: key.createdBy,
        last_accepted_step: key.lastAcceptedStep,
      })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async findTotpKey(name: string): Promise<TotpKeyRecord | null> {
    const row = await this.db.selectFrom("totp_keys").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? totpKeyFromRow(row) : null;
  }

  async listTotpKeyNames(): Promise<string[]> {
    const rows = await this.db.selectFrom("totp_keys").select("name").orderBy("name").execute();
    return rows.map((r) => r.name);
  }

  async deleteTotpKey(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("totp_keys").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async acceptTotpStep(name: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable("totp_keys")
      .set({ last_accepted_step: step })
      .where("name", "=", name)
      .where((eb) => eb.or([eb("last_accepted_step", "is", null), eb("last_accepted_step", "<", step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async findUser(username: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom("users")
      .selectAll()
      .where("username", "=", username)
      .executeTakeFirst();
    if (!row) return null;
    return {
      username: row.username,
      passwordHash: row.password_hash,
      policies: JSON.parse(row.policies),
      displayName: row.display_name,
      email: row.email,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      mfaState: (row.mfa_state ?? "none") as UserRecord["mfaState"],
      requireMfa: Number(row.require_mfa ?? 0) === 1,
    };
  }

  async putUser(user: UserRecord): Promise<void> {
    const row = {
      username: user.username,
      password_hash: user.passwordHash,
      policies: JSON.stringify(user.policies),
      display_name: user.displayName,
      email: user.email,
      created_at: user.createdAt,
      updated_at: user.updatedAt,
      require_mfa: user.requireMfa ? 1 : 0,
    };
    // An existing person's mfa_state is the second factor's (KyselySecondFactorStore): never overwritten here.
    await this.db
      .insertInto("users")
      .values({ ...row, mfa_state: user.mfaState })
      .onConflict((oc) => oc.column("username").doUpdateSet(row))
      .execute();
  }

  async deleteUser(username: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom("users").where("username", "=", username).executeTakeFirst();
      await trx.deleteFrom("second_factors").where("username", "=", username).execute();
      return Number(result.numDeletedRows) === 1;
    });
  }

  async listUsernames(): Promise<string[]> {
    return (await this.db.selectFrom("users").select("username").orderBy("username").execute()).map(
      (r) => r.username,
    );
  }

  async findGroup(name: string): Promise<GroupRecord | null> {
    const row = await this.db.selectFrom("groups").selectAll().where("name", "=", name).executeTakeFirst();
    return row ? groupFromRow(row) : null;
  }

  async putGroup(group: GroupRecord): Promise<void> {
    const row = {
      name: group.name,
      members: JSON.stringify(group.members),
      policies: JSON.stringify(group.policies),
      updated_at: group.updatedAt,
    };
    await this.db
      .insertInto("groups")
      .values(row)
      .onConflict((oc) => oc.column("name").doUpdateSet(row))
      .execute();
  }

  async deleteGroup(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("groups").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async listGroups(): Promise<GroupRecord[]> {
    return (await this.db.selectFrom("groups").selectAll().orderBy("name").execute()).map(groupFromRow);
  }

  async readLoginFailures(subject: string): Promise<LoginFailures | null> {
    const row = await this.db
      .selectFrom("login_failures")
      .select(["failures", "last_attempt_at"])
      .where("subject", "=", subject)
      .executeTakeFirst();
    return row ? { failures: Number(row.failures), lastAttemptAt: row.last_attempt_at } : null;
  }

  async countLoginAttempt(
    subject: string,
    at: string,
    restartRun: { startedBefore: string; quietSince: string } | null,
  ): Promise<CountedLoginAttempt> {
    // SET expressions read the row as it was, so the one statement both counts and hands back the
    // previous attempt's time; concurrent attempts are serialised on the row, each with its count.
    const restart = restartRun
      ? sql<boolean>`login_failures.first_attempt_at < ${restartRun.startedBefore}
          and login_failures.last_attempt_at < ${restartRun.quietSince}`
      : sql<boolean>`false`;
    const row = await this.db
      .insertInto("login_failures")
      .values({ subject, failures: 1, first_attempt_at: at, last_attempt_at: at, previous_attempt_at: null })
      .onConflict((oc) =>
        oc.column("subject").doUpdateSet({
          failures: sql<number>`case when ${restart} then 1 else login_failures.failures + 1 end`,
          first_attempt_at: sql<string>`case when ${restart} then ${at} else login_failures.first_attempt_at end`,
          previous_attempt_at: sql<string | null>`login_failures.last_attempt_at`,
          last_attempt_at: at,
        }),
      )
      .returning(["failures", "previous_attempt_at"])
      .executeTakeFirstOrThrow();
    return { failures: Number(row.failures), previousAttemptAt: row.previous_attempt_at };
  }

  async uncountLoginAttempt(subject: string, at: string): Promise<void> {
    // The lock goes back to the one before this attempt, unless a later attempt has left its own.
    const lastBeforeThis = sql<string | null>`case when last_attempt_at = ${at}
      then previous_attempt_at else last_attempt_at end`;
    await this.db
      .updateTable("login_failures")
      .set({ failures: sql<number>`failures - 1`, last_attempt_at: lastBeforeThis })
      .where("subject", "=", subject)
      .where("failures", ">", 0)
      .execute();
  }

  async clearLoginFailures(subject: string): Promise<void> {
    await this.db.deleteFrom("login_failures").where("subject", "=", subject).execute();
  }

  appendAuditEntries(link: (head: AuditHead | null) => AuditEntry[]): Promise<AuditEntry[]> {
    return this.specifics.auditAppender.append(link);
  }

  async listAuditEntries(filter: AuditFilter): Promise<AuditEntry[]> {
    let query = this.db.selectFrom("audit_entries").selectAll().orderBy("seq", "asc");
    if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
    if (filter.since) query = query.where("time", ">=", filter.since);
    if (filter.until) query = query.where("time", "<", filter.until);
    if (filter.actor) query = query.where("actor", "=", filter.actor);
    if (filter.action) query = query.where("action", "=", filter.action);
    if (filter.target) query = query.where("target", "=", filter.target);
    if (filter.outcome) query = query.where("outcome", "=", filter.outcome);
    if (filter.reasonContains)
      query = query.where(
        sql<boolean>`lower(reason) like ${`%${escapeLike(filter.reasonContains.toLowerCase())}%`} escape '\\'`,
      );
    if (filter.limit) query = query.limit(filter.limit);
    const rows = await query.execute();
    return rows.map(auditEntryFromRow);
  }

  async setAuditPublicKey(pem: string): Promise<void> {
    await this.db.updateTable("seal_config").set({ audit_public_key: pem }).where("id", "=", 1).execute();
  }

  async listAuditSinks(): Promise<AuditSinkRecord[]> {
    const rows = await this.db.selectFrom("audit_sinks").selectAll().orderBy("name").execute();
    return rows.map((row) => ({
      name: row.name,
      type: row.type,
      description: row.description,
      options: JSON.parse(row.options),
      required: Number(row.required) === 1,
      secretCiphertext: row.secret_ciphertext === null ? null : Buffer.from(row.secret_ciphertext, "base64"),
      keyVersion: row.key_version === null ? null : Number(row.key_version),
      updatedAt: row.updated_at,
    }));
  }

  async putAuditSink(sink: AuditSinkRecord): Promise<void> {
    const row = {
      name: sink.name,
      type: sink.type,
      description: sink.description,
      options: JSON.stringify(sink.options),
      required: sink.required ? 1 : 0,
      secret_ciphertext: sink.secretCiphertext?.toString("base64") ?? null,
      key_version: sink.keyVersion,
      updated_at: sink.updatedAt,
    };
    await this.db
      .insertInto("audit_sinks")
      .values(row)
      .onConflict((oc) => oc.column("name").doUpdateSet(row))
      .execute();
  }

  async deleteAuditSink(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("audit_sinks").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async databaseTime(): Promise<number | null> {
    if (this.specifics.engine !== "postgres") return null;
    const { rows } = await sql<{
      ms: string | number;
    }>`select extract(epoch from clock_timestamp()) * 1000 as ms`.execute(this.db);
    return Number(rows[0]?.ms);
  }

  readAuditHead(): Promise<AuditHead | null> {
    return readAuditHead(this.db);
  }

  async probeWrite(): Promise<void> {
    if (this.engine === "sqlite") {
      // SQLite writes only at commit: the header's user_version rewritten as it is, one page and one fsync.
      const { rows } = await sql<{ user_version: number }>`pragma user_version`.execute(this.db);
      await sql.raw(`pragma user_version = ${Number(rows[0]?.user_version ?? 0)}`).execute(this.db);
      return;
    }
    // PostgreSQL finds room for a row (or refuses a read-only write) at the insert: one where the
    // chain's rows go, rolled back, never seen by anyone. seq -1 is never a chain position.
    const rolledBack = new Error("write probe rolled back");
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto("audit_entries").values(PROBE_ROW).execute();
        throw rolledBack;
      });
    } catch (error) {
      if (error !== rolledBack) throw error;
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.specifics.close();
  }
}

/** The row of PostgreSQL's write probe, rolled back as soon as it is inserted. */
const PROBE_ROW = {
  seq: -1,
  time: new Date(0).toISOString(),
  actor: "write probe",
  action: "probe",
  target: null,
  outcome: "success",
  reason: null,
  request_id: "write-probe",
  remote_addr: null,
  user_agent: null,
  approval_ids: "[]",
  details: "{}",
  prev_hash: "",
  hash: "",
  token: null,
  token_name: null,
} as const;

function groupFromRow(row: Selectable<GroupTable>): GroupRecord {
  return {
    name: row.name,
    members: JSON.parse(row.members),
    policies: JSON.parse(row.policies),
    updatedAt: row.updated_at,
  };
}

function totpKeyFromRow(row: Selectable<TotpKeyTable>): TotpKeyRecord {
  return {
    name: row.name,
    issuer: row.issuer,
    accountName: row.account_name,
    algorithm: row.algorithm,
    digits: Number(row.digits),
    period: Number(row.period),
    skew: Number(row.skew),
    seedCiphertext: Buffer.from(row.seed_ciphertext, "base64"),
    keyVersion: Number(row.key_version),
    generated: Number(row.generated) === 1,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastAcceptedStep: row.last_accepted_step === null ? null : Number(row.last_accepted_step),
  };
}

export function auditEntryFromRow(row: Selectable<AuditEntryTable>): AuditEntry {
  return {
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditEntry["outcome"],
    reason: row.reason,
    request_id: row.request_id,
    remote_addr: row.remote_addr,
    user_agent: row.user_agent,
    approval_ids: parseTamperableJson(row.approval_ids),
    details: parseTamperableJson(row.details),
    prev_hash: row.prev_hash,
    hash: row.hash,
    ...(row.token === null ? {} : { token: row.token }),
    ...(row.token_name === null ? {} : { token_name: row.token_name }),
  };
}

/** A hand-edited row may hold anything; keep the raw text so verification reports the entry instead of crashing. */
function parseTamperableJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as unknown as T;
  }
}

/** LIKE patterns treat % and _ as wildcards; a reason searched for is taken literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

async function insertCustodians(db: Kysely<Database>, custodians: CustodianRecord[]): Promise<void> {
  if (custodians.length === 0) return;
  await db
    .insertInto("custodians")
    .values(
      custodians.map((c) => ({
        share_index: c.shareIndex,
        name: c.name,
        pgp_fingerprint: c.pgpFingerprint,
        share_hash: c.shareHash,
        created_at: c.createdAt,
        last_verified: c.lastVerified,
      })),
    )
    .execute();
}
