import type { Action } from "./policy.js";

/**
 * Every action the audit log records, once: what an entry of it records, and the role-level
 * permission (policy action) a request for it needs — null where anyone may ask (Vault's
 * unauthenticated ceremonies), every token may (its own token), or a credential's access rule
 * decides. A route declares one of these; its refusals and its successes are recorded under it,
 * so filtering the log by action finds both. The README's table is generated from this
 * (test/core/audit-actions.test.ts).
 *
 * `housekeeping`: an allowed entry of it records no access to a secret and no change (a page
 * load's session read, the log's own reads and checkpoints). The UI and CLI hide those by
 * default; their refusals are never housekeeping.
 */
export const AUDIT_ACTIONS = {
  "access.configure": {
    records: "reading a credential's access rule (refusals only)",
    permission: "access.configure",
  },
  "access.rule.write": {
    records: "a credential's access rule created or replaced",
    permission: "access.configure",
  },
  "access.rule.delete": { records: "a credential's access rule removed", permission: "access.configure" },
  "approval.request": {
    records: "a request to read a credential that needs approvals",
    permission: "approvals.use",
  },
  "approval.list": { records: "listing approval requests (refusals only)", permission: "approvals.use" },
  "approval.read": { records: "reading one approval request (refusals only)", permission: "approvals.use" },
  "approval.approve": { records: "an approver's yes to a request", permission: "approvals.use" },
  "approval.deny": { records: "an approver's no to a request", permission: "approvals.use" },
  "audit.read": { records: "a page of the audit log read", permission: "audit.read", housekeeping: true },
  "audit.export": { records: "the audit log exported", permission: "audit.read" },
  "audit.verify": {
    records: "the audit chain verified by the server",
    permission: "audit.read",
    housekeeping: true,
  },
  "audit.checkpoint": {
    records: "a signed checkpoint of the chain (by the system)",
    permission: null,
    housekeeping: true,
  },
  "audit.sink.read": { records: "audit sinks listed or read", permission: "audit.configure" },
  "audit.sink.write": { records: "an audit sink created or replaced", permission: "audit.configure" },
  "audit.sink.delete": { records: "an audit sink removed", permission: "audit.configure" },
  "audit.sink.redrive": { records: "audit sink dead letters sent again", permission: "audit.configure" },
  "auth.flood": {
    records: "a minute of refusals without a valid token from one address, counted",
    permission: null,
  },
  "auth.userpass.login": { records: "a password login (and its second factor)", permission: null },
  "auth.oidc.configure": {
    records: "the OpenID provider's settings or a sign-in role written or removed",
    permission: "people.write",
  },
  "auth.oidc.start": {
    records: "a sign-in with the OpenID provider refused at its start (refusals only)",
    permission: null,
  },
  "auth.oidc.login": {
    records: "a sign-in with the OpenID provider: the person, the provider account, groups mapped",
    permission: null,
  },
  "auth.oidc.renew": {
    records: "an OIDC login renewed through the provider, or ended because the provider refused",
    permission: null,
  },
  "custodians.read": { records: "listing the custodians (refusals only)", permission: "custodians.read" },
  "devices.read": { records: "listing or reading devices (refusals only)", permission: "devices.read" },
  "devices.create": { records: "a device added to the safe's inventory", permission: "devices.write" },
  "devices.update": { records: "a device's description changed", permission: "devices.write" },
  "devices.retire": { records: "a device retired", permission: "devices.write" },
  "devices.checkout": {
    records: "a device taken out of the safe (its access rule, or operators)",
    permission: null,
  },
  "devices.checkin": { records: "a device put back in the safe", permission: null },
  "devices.coverage": {
    records: "the coverage report (credentials without a device, checks due)",
    permission: "devices.read",
  },
  "devices.reminders": {
    records: "a reminder sent for a device check due (by the system)",
    permission: null,
  },
  "notify.webhook.read": { records: "notification webhooks listed or read", permission: "notify.configure" },
  "notify.webhook.write": {
    records: "a notification webhook created or replaced",
    permission: "notify.configure",
  },
  "notify.webhook.delete": { records: "a notification webhook removed", permission: "notify.configure" },
  "notify.delivery.read": {
    records: "notification deliveries or dead letters listed",
    permission: "notify.configure",
  },
  "notify.delivery.redrive": {
    records: "notification dead letters sent again",
    permission: "notify.configure",
  },
  "notify.smtp.read": { records: "the mail server settings read", permission: "notify.configure" },
  "notify.smtp.write": { records: "the mail server settings written", permission: "notify.configure" },
  "notify.smtp.delete": { records: "the mail server settings removed", permission: "notify.configure" },
  "people.read": {
    records: "listing or reading users and groups (refusals only)",
    permission: "people.read",
  },
  "people.user.write": { records: "a user created or changed", permission: "people.write" },
  "people.user.delete": {
    records: "a user deleted (and every token they answer for)",
    permission: "people.write",
  },
  "people.group.write": { records: "a group created or changed", permission: "people.write" },
  "people.group.delete": { records: "a group deleted", permission: "people.write" },
  "people.mfa.enrol": { records: "a person starts enabling their second factor", permission: null },
  "people.mfa.confirm": { records: "a person confirms their second factor with a code", permission: null },
  "people.mfa.check": { records: "a second-factor code checked at login", permission: null },
  "people.mfa.reset": { records: "a person's second factor reset by an admin", permission: "people.write" },
  "people.passkey.register": {
    records: "a person registers a passkey (the credential id; never the attestation)",
    permission: null,
  },
  "people.passkey.read": { records: "a person lists their own passkeys (refusals only)", permission: null },
  "people.passkey.rename": { records: "a person renames one of their passkeys", permission: null },
  "people.passkey.remove": { records: "a person removes one of their passkeys", permission: null },
  "people.passkey.reset": {
    records: "every passkey of a person removed by an admin (their credential ids)",
    permission: "people.write",
  },
  "people.passkey.check": { records: "a passkey assertion checked at a password login", permission: null },
  "people.passkey.step-up": {
    records: "a step-up challenge asked for, bound to one action (refusals only)",
    permission: null,
  },
  "sys.init": { records: "the vault initialised", permission: null },
  "sys.unseal": { records: "an unseal share given (or the attempt reset)", permission: null },
  "sys.seal": { records: "the vault sealed", permission: "sys.seal" },
  "sys.step-down": {
    records: "a step-down asked for (refusals only: there is no HA)",
    permission: "sys.seal",
  },
  "sys.rekey": { records: "a rekey ceremony: start, share, cancel, new shares", permission: null },
  "sys.generate-root": {
    records: "a root token generation: start, share, cancel, new token",
    permission: null,
  },
  "sys.rotate": { records: "a new data key version", permission: "sys.rotate" },
  "sys.rotate.reencrypted": {
    records: "older rows re-encrypted under the new data key (by the system)",
    permission: null,
  },
  "sys.key-status": { records: "reading the data key status (refusals only)", permission: "sys.key-status" },
  "sys.backup": { records: "a backup taken", permission: "sys.backup" },
  "sys.restore": { records: "a backup restored", permission: null },
  "sys.custodians.drill": { records: "a custodian checks their share in a drill", permission: null },
  "sys.custodians.bus-factor": {
    records: "the bus-factor warning told as it appears, stands or clears (by the system)",
    permission: null,
  },
  "token.create": { records: "a token made (a child, or an orphan)", permission: "token.create" },
  "token.lookup-self": { records: "a token looks itself up", permission: null, housekeeping: true },
  "token.lookup": { records: "a token looked up, given itself", permission: "token.manage" },
  "token.lookup-accessor": { records: "a token looked up by its accessor", permission: "token.manage" },
  "token.list-accessors": { records: "the accessors of live tokens listed", permission: "token.manage" },
  "token.renew-self": { records: "a token renews itself", permission: null },
  "token.renew": { records: "a token renewed, given itself", permission: "token.manage" },
  "token.renew-accessor": { records: "a token renewed by its accessor", permission: "token.manage" },
  "token.revoke-self": { records: "a token revokes itself and its children", permission: null },
  "token.revoke": {
    records: "a token and its children revoked, given the token",
    permission: "token.manage",
  },
  "token.revoke-orphan": {
    records: "a token revoked, its children made orphans",
    permission: "token.manage",
  },
  "token.revoke-accessor": {
    records: "a token and its children revoked by its accessor",
    permission: "token.manage",
  },
  "totp.key.write": { records: "a TOTP key created or imported", permission: "totp.key.write" },
  "totp.key.read": { records: "a TOTP key's metadata read (never its seed)", permission: "totp.key.read" },
  "totp.key.list": { records: "the TOTP keys listed", permission: "totp.key.read" },
  "totp.key.delete": { records: "a TOTP key deleted", permission: "totp.key.delete" },
  "totp.key.export": {
    records: "a seed export ceremony: start, share, cancel, the seed sealed to a PGP key",
    permission: "totp.key.export",
  },
  "totp.code.read": {
    records: "a code read (which step left), under the credential's access rule",
    permission: null,
  },
  "totp.code.enroll": {
    records: "a code and the next read to enrol a device, under the access rule",
    permission: null,
  },
  "totp.code.validate": { records: "a code checked (valid or not)", permission: "totp.code.validate" },
  "ui.session.open": { records: "a browser session opened", permission: null },
  "ui.session.read": { records: "a browser session looked at (refusals only)", permission: null },
  "ui.session.close": {
    records: "a browser session closed (refusals only; the revocation is token.revoke-self)",
    permission: null,
  },
} as const satisfies Record<string, { records: string; permission: Action | null; housekeeping?: true }>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(action: string): action is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, action);
}

/** The role-level permission a request for `action` needs, or null when none is. */
export function permissionOf(action: AuditAction): Action | null {
  return AUDIT_ACTIONS[action].permission;
}

/** The actions whose allowed entries are housekeeping (see the catalogue). */
export const HOUSEKEEPING_ACTIONS: readonly AuditAction[] = (
  Object.keys(AUDIT_ACTIONS) as AuditAction[]
).filter((action) => "housekeeping" in AUDIT_ACTIONS[action]);
