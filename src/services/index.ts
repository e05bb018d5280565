import type { Store } from "../store/store.js";
import { AccessRuleService } from "./access/access-rules.js";
import { ApprovalService } from "./access/approvals.js";
import { AuditAccess } from "./audit/audit-access.js";
import { AuditCheckpoints, type CheckpointPolicy } from "./audit/audit-checkpoints.js";
import { AuditLog, type AuditObserver } from "./audit/audit-log.js";
import { RefusalFlood, type RefusalFloodSettings } from "./audit/refusal-flood.js";
import { AuditSinkService } from "./audit/sinks/sink-admin.js";
import type { SinkSpec } from "./audit/sinks/sink-config.js";
import { AuditSinkManager } from "./audit/sinks/sink-manager.js";
import type { AuditSinkObserver, SinkLog } from "./audit/sinks/sink-queue.js";
import { Authorizer } from "./auth/authorizer.js";
import { TokenService } from "./auth/tokens.js";
import { UserpassLogin } from "./auth/userpass-login.js";
import { BackupService } from "./backup/backup.js";
import { CustodianService, type CustodySettings } from "./custody/custodians.js";
import { GenerateRootService } from "./custody/generate-root.js";
import { RekeyService } from "./custody/rekey.js";
import { SeedExportService } from "./custody/seed-export.js";
import { CoverageService } from "./devices/coverage.js";
import { type DeviceReminderSettings, DeviceReminders } from "./devices/device-reminders.js";
import { DeviceService } from "./devices/devices.js";
import { NodeClock } from "./node/node-clock.js";
import { NodeCondition } from "./node/node-condition.js";
import type { NotificationObserver } from "./notify/destinations.js";
import { NotificationService } from "./notify/notifier.js";
import { PeopleService } from "./people/people.js";
import { SecondFactorService } from "./people/second-factor.js";
import { KeyRotationService } from "./seal/key-rotation.js";
import { SealService } from "./seal/seal.js";
import { CredentialDirectory } from "./totp/credential-directory.js";
import { TotpService } from "./totp/totp.js";

export interface Services {
  store: Store;
  /** Time as this node may trust it, and whether its clock is wrong; watched from start to shutdown. */
  clock: NodeClock;
  audit: AuditLog;
  checkpoints: AuditCheckpoints;
  auditAccess: AuditAccess;
  seal: SealService;
  tokens: TokenService;
  /** The one authorisation decision: every route's action, a credential's access rule and approval. */
  authorizer: Authorizer;
  /** Refusals without a valid token: audited one by one up to a budget per address, then as a flood; started before the server listens, stopped (and flushed) at shutdown. */
  refusalFlood: RefusalFlood;
  totp: TotpService;
  auditSinks: AuditSinkService;
  people: PeopleService;
  userpass: UserpassLogin;
  secondFactor: SecondFactorService;
  approvals: ApprovalService;
  accessRules: AccessRuleService;
  /** The registry of physical MFA devices, and their check-out and check-in. */
  devices: DeviceService;
  /** Feeds the sinks; started before the server listens, closed at shutdown. */
  auditSinkManager: AuditSinkManager;
  /** Webhooks and e-mail: `notify` queues and returns; started before the server listens, closed at shutdown. */
  notifier: NotificationService;
  /** Encrypted backups, and restoring one (applied at the first unseal). */
  backup: BackupService;
  /** What each person may read, for the web UI's list. */
  credentialDirectory: CredentialDirectory;
  /** Custody ceremonies: new shares, a root token, a seed by quorum; and custodians' drills. */
  rekey: RekeyService;
  generateRoot: GenerateRootService;
  seedExport: SeedExportService;
  /** Watches the bus factor; started before the server listens, stopped at shutdown. */
  custodians: CustodianService;
  /** Data key rotation and re-encryption; reloads the keyring, started before the server listens, closed at shutdown. */
  keyRotation: KeyRotationService;
  /** Battery, review and check-out reminders for physical devices; started before the server listens, stopped at shutdown. */
  deviceReminders: DeviceReminders;
  /** Which protected accounts have too few factors, in one place, or all coming due. */
  coverage: CoverageService;
  /** What keeps this node from serving, or deserves a look: health lists it (node-condition.ts). */
  nodeCondition: NodeCondition;
}

export interface ServiceSettings {
  auditObserver: AuditObserver;
  checkpointPolicy: CheckpointPolicy;
  /** Sinks from the config file: active from start, never stored. */
  configSinks: SinkSpec[];
  sinkObserver: AuditSinkObserver;
  log: SinkLog;
  /** How long a token from a userpass login lives. */
  loginTtlSeconds?: number;
  /** How long an approval request waits for its votes before it expires. */
  approvalRequestTtlSeconds?: number;
  notificationObserver: NotificationObserver;
  custody?: CustodySettings;
  deviceReminders?: DeviceReminderSettings;
  refusalFlood: RefusalFloodSettings;
  /** What health reports besides the seal (node-condition.ts); a new one when not given. */
  nodeCondition?: NodeCondition;
}

export function createServices(store: Store, settings: ServiceSettings): Services {
  const audit = new AuditLog(store, settings.auditObserver);
  const nodeCondition = settings.nodeCondition ?? new NodeCondition();
  const clock = new NodeClock(() => store.databaseTime(), settings.log, nodeCondition);
  audit.onCommitted((entries) => {
    const last = entries.at(-1);
    if (last) clock.sawChainTime(last.time);
  });
  const refusalFlood = new RefusalFlood(audit, settings.refusalFlood, settings.log);
  // Tokens are checked with a key from the keyring, which exists only once the seal service has
  // unsealed; and a person's roles are looked up at each request, so taking one away counts at once.
  const tokens: TokenService = new TokenService(
    store,
    audit,
    () => seal.keyringOrThrow().tokenHmacKey,
    (username) => people.identityOf(username),
    refusalFlood,
    clock,
  );
  const people = new PeopleService(store, tokens, audit);
  const seal = new SealService(store, audit, tokens);
  // After a restart the chain's head is the latest time known: a clock set back cannot go before it.
  seal.onKeyringOpened(async () => {
    const head = await store.readAuditHead();
    if (head) clock.sawChainTime(head.time);
  });
  const notifier = new NotificationService(store, seal, audit, settings.notificationObserver, settings.log);
  seal.tellOf(notifier);
  const backup = new BackupService(store, seal, audit);
  const approvals = new ApprovalService(
    store,
    audit,
    notifier,
    (username) => people.identityOf(username),
    settings.approvalRequestTtlSeconds,
  );
  const accessRules = new AccessRuleService(store, audit, (keyName) => approvals.forgetRule(keyName));
  const authorizer = new Authorizer(tokens, approvals, audit, refusalFlood);
  const totp = new TotpService(store, seal, authorizer, audit, notifier);
  const devices = new DeviceService(store, authorizer, audit, approvals, notifier);
  const checkpoints = new AuditCheckpoints(audit, seal, settings.checkpointPolicy);
  const auditAccess = new AuditAccess(audit, checkpoints, seal);
  const auditSinkManager = new AuditSinkManager(
    store,
    seal,
    settings.configSinks,
    settings.sinkObserver,
    settings.log,
  );
  audit.setDelivery(auditSinkManager);
  const auditSinks = new AuditSinkService(store, seal, audit, auditSinkManager);

  const secondFactor = new SecondFactorService(store, seal, audit);
  const userpass = new UserpassLogin(
    store,
    people,
    tokens,
    audit,
    notifier,
    secondFactor,
    settings.loginTtlSeconds,
  );
  const rekey = new RekeyService(seal, audit, notifier);
  const generateRoot = new GenerateRootService(
    seal,
    tokens,
    () => seal.keyringOrThrow().tokenHmacKey,
    audit,
    notifier,
  );
  const seedExport = new SeedExportService(seal, store, totp, audit, notifier);
  const custodians = new CustodianService(seal, store, audit, notifier, settings.custody ?? {}, settings.log);
  const keyRotation = new KeyRotationService(store, seal, audit, settings.log);
  const deviceReminders = new DeviceReminders(
    store,
    seal,
    audit,
    notifier,
    settings.deviceReminders ?? {},
    settings.log,
  );
  const coverage = new CoverageService(store, audit);
  const credentialDirectory = new CredentialDirectory(store, approvals);
  return {
    store,
    clock,
    credentialDirectory,
    backup,
    keyRotation,
    rekey,
    generateRoot,
    seedExport,
    custodians,
    audit,
    checkpoints,
    auditAccess,
    seal,
    tokens,
    authorizer,
    refusalFlood,
    totp,
    auditSinks,
    auditSinkManager,
    people,
    userpass,
    secondFactor,
    approvals,
    accessRules,
    devices,
    notifier,
    deviceReminders,
    coverage,
    nodeCondition,
  };
}
