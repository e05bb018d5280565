import { hostname } from "node:os";
import { type Clock, systemClock } from "../core/clock.js";
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
import { Authorizer } from "./auth/authorizer.js";
import { OidcIdentities } from "./auth/oidc-identities.js";
import { OidcLogin, OidcRenewal } from "./auth/oidc-login.js";
import { OidcSettings } from "./auth/oidc-settings.js";
import { PasskeyChallenges } from "./auth/passkey-challenges.js";
import { PasskeyService } from "./auth/passkeys.js";
import { StepUpService } from "./auth/step-up.js";
import { TokenService } from "./auth/tokens.js";
import { UserpassLogin } from "./auth/userpass-login.js";
import { BackupService } from "./backup/backup.js";
import { CustodianService, type CustodySettings } from "./custody/custodians.js";
import { GenerateRootService } from "./custody/generate-root.js";
import { RekeyService } from "./custody/rekey.js";
import { SeedExportService } from "./custody/seed-export.js";
import { DeliveryService } from "./delivery/deliveries.js";
import { DEFAULT_WARN_AFTER_SECONDS, DeliveryHealth } from "./delivery/delivery-health.js";
import type { DeliveryObserver, SinkLog } from "./delivery/transport.js";
import { CoverageService } from "./devices/coverage.js";
import { type DeviceReminderSettings, DeviceReminders } from "./devices/device-reminders.js";
import { DeviceService } from "./devices/devices.js";
import { NodeClock } from "./node/node-clock.js";
import { NodeCondition } from "./node/node-condition.js";
import { DEFAULT_MAX_ATTEMPTS } from "./notify/destinations.js";
import { NotificationService } from "./notify/notifier.js";
import { identityOf, PeopleService } from "./people/people.js";
import { SecondFactorService } from "./people/second-factor.js";
import { KeyRotationService } from "./seal/key-rotation.js";
import { SealService } from "./seal/seal.js";
import { UnsealedKeys } from "./seal/secret-box.js";
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
  /** Sign-in with an OpenID provider: its settings and roles (admins), and the sign-in itself. */
  oidcSettings: OidcSettings;
  oidc: OidcLogin;
  secondFactor: SecondFactorService;
  /** People's passkeys: registration, their management, the login factor, an admin's reset. */
  passkeys: PasskeyService;
  /** A fresh passkey assertion bound to one action: code reads and approvals under rules that ask for it. */
  stepUp: StepUpService;
  approvals: ApprovalService;
  accessRules: AccessRuleService;
  /** The registry of physical MFA devices, and their check-out and check-in. */
  devices: DeviceService;
  /** Feeds the sinks from the chain; started before the server listens, closed at shutdown. */
  auditSinkManager: AuditSinkManager;
  /** Webhooks and e-mail, delivered from the outbox; started before the server listens, closed at shutdown. */
  notifier: NotificationService;
  /** What is undelivered or given up on, and redriving it. */
  deliveries: DeliveryService;
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
  /** What the delivery workers (sinks and notification channels) report: the metrics. */
  deliveryObserver: DeliveryObserver;
  /** Failed attempts before a notification becomes a dead letter, and when a destination behind is warned of. */
  delivery?: {
    maxAttempts?: number;
    warnAfterSeconds?: number;
    /** Whose file a file sink's position is (default the host name): stable across restarts. */
    nodeName?: string;
  };
  log: SinkLog;
  /** How long a token from a userpass login lives. */
  loginTtlSeconds?: number;
  /** How long an approval request waits for its votes before it expires. */
  approvalRequestTtlSeconds?: number;
  custody?: CustodySettings;
  deviceReminders?: DeviceReminderSettings;
  refusalFlood: RefusalFloodSettings;
  /** What health reports besides the seal (node-condition.ts); a new one when not given. */
  nodeCondition?: NodeCondition;
  /** Where services read the time: the system clock unless a test gives one it moves. */
  clock?: Clock;
  /** The web UI's origin, whose host is the passkeys' relying party (docs/passkeys.md); unset: localhost only. */
  passkeyOrigin?: string;
}

export function createServices(store: Store, settings: ServiceSettings): Services {
  const time = settings.clock ?? systemClock;
  const nodeCondition = settings.nodeCondition ?? new NodeCondition();
  const clock = new NodeClock(time, () => store.databaseTime(), settings.log, nodeCondition);
  // Every service is made after what it needs, so none is introduced to another afterwards: the
  // keys exist only once unsealed, but the box that holds them exists from the start.
  const box = new UnsealedKeys(() => store.readSealConfig());
  const deliveryObserver = new DeliveryHealth(
    settings.deliveryObserver,
    nodeCondition,
    settings.delivery?.warnAfterSeconds ?? DEFAULT_WARN_AFTER_SECONDS,
  );
  const auditSinkManager = new AuditSinkManager(
    store,
    box,
    settings.configSinks,
    deliveryObserver,
    settings.log,
    settings.delivery?.nodeName ?? hostname(),
  );
  const audit = new AuditLog(store, settings.auditObserver, auditSinkManager, time);
  audit.onCommitted((entries) => {
    const last = entries.at(-1);
    if (last) clock.sawChainTime(last.time);
  });
  const refusalFlood = new RefusalFlood(audit, settings.refusalFlood, settings.log, time);
  // Tokens are checked with a key from the keyring, which the box holds only once unsealed; and a
  // person's roles are looked up at each request, so taking one away counts at once.
  const oidcSettings = new OidcSettings(store, box, audit, time);
  const oidcIdentities = new OidcIdentities(store, time);
  const oidcRenewal = new OidcRenewal(store, oidcSettings, oidcIdentities, box, audit, time);
  const tokenHmacKey = () => box.keyringOrThrow().tokenHmacKey;
  const tokens = new TokenService(
    store,
    audit,
    tokenHmacKey,
    (username) => identityOf(store, username),
    refusalFlood,
    clock,
    oidcRenewal.vouch,
  );
  const oidc = new OidcLogin(store, oidcSettings, oidcIdentities, tokens, box, audit, tokenHmacKey, clock);
  const people = new PeopleService(store, tokens, audit, time);
  const notifier = new NotificationService(
    store,
    box,
    audit,
    time,
    deliveryObserver,
    settings.log,
    settings.delivery?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  );
  // Events committed on this node leave at once; other nodes' within a poll.
  audit.onCommitted(() => notifier.poke());
  const deliveries = new DeliveryService(store, audit, {
    notifications: () => notifier.workers(),
    sinks: () => auditSinkManager.workers(),
  });
  const seal = new SealService(store, box, audit, tokens, time);
  // After a restart the chain's head is the latest time known: a clock set back cannot go before it.
  seal.onKeyringOpened(async () => {
    const head = await store.readAuditHead();
    if (head) clock.sawChainTime(head.time);
  });
  const backup = new BackupService(store, seal, audit, time);
  const passkeys = new PasskeyService(
    store,
    audit,
    time,
    new PasskeyChallenges(store, time),
    settings.passkeyOrigin,
  );
  const stepUp = new StepUpService(passkeys, audit);
  const approvals = new ApprovalService(
    store,
    audit,
    (username) => identityOf(store, username),
    stepUp,
    time,
    settings.approvalRequestTtlSeconds,
  );
  const accessRules = new AccessRuleService(store, audit, (keyName) => approvals.forgetRule(keyName), time);
  const authorizer = new Authorizer(tokens, approvals, audit, refusalFlood);
  const totp = new TotpService(store, box, authorizer, stepUp, audit, time);
  const devices = new DeviceService(store, authorizer, audit, approvals, time);
  const checkpoints = new AuditCheckpoints(audit, box, time, settings.checkpointPolicy);
  const auditAccess = new AuditAccess(audit, checkpoints, seal);
  const auditSinks = new AuditSinkService(store, box, audit, auditSinkManager, time);

  const secondFactor = new SecondFactorService(store, box, audit, time);
  const userpass = new UserpassLogin(
    store,
    people,
    tokens,
    audit,
    secondFactor,
    passkeys,
    time,
    settings.loginTtlSeconds,
  );
  const rekey = new RekeyService(seal, audit, time);
  const generateRoot = new GenerateRootService(
    seal,
    tokens,
    () => box.keyringOrThrow().tokenHmacKey,
    audit,
    time,
  );
  const seedExport = new SeedExportService(seal, store, totp, audit, time);
  const custodians = new CustodianService(seal, store, audit, settings.custody ?? {}, time, settings.log);
  const keyRotation = new KeyRotationService(store, seal, audit, settings.log);
  const deviceReminders = new DeviceReminders(
    store,
    seal,
    audit,
    time,
    settings.deviceReminders ?? {},
    settings.log,
  );
  const coverage = new CoverageService(store, audit, time);
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
    oidcSettings,
    oidc,
    secondFactor,
    passkeys,
    stepUp,
    approvals,
    accessRules,
    devices,
    notifier,
    deliveries,
    deviceReminders,
    coverage,
    nodeCondition,
  };
}
