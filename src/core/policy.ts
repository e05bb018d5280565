import { badInput } from "./errors.js";

/**
 * Which kinds of request a token may make at all: a fixed set of built-in policies (roles) naming
 * the actions they allow. Reading a credential's code is then decided by its access rule
 * (core/access.ts).
 */

export const ACTIONS = [
  "sys.seal",
  "token.create",
  /** Revoke, look up and list other tokens (Vault's revoke, revoke-accessor, lookup-accessor, accessors). */
  "token.manage",
  "totp.key.write",
  "totp.key.delete",
  "totp.key.read",
  "totp.code.read",
  "totp.code.validate",
  "audit.read",
  "audit.configure",
  "people.read",
  "people.write",
  "notify.configure",
  "access.configure",
  "approvals.use",
  "sys.rotate",
  "sys.key-status",
  "sys.backup",
  "custodians.read",
  "totp.key.export",
  "devices.read",
  "devices.write",
  "devices.checkout",
] as const;
export type Action = (typeof ACTIONS)[number];

const READER: Action[] = ["totp.key.read", "totp.code.read", "totp.code.validate"];

export const BUILT_IN_POLICIES: Record<string, readonly Action[]> = {
  root: ACTIONS,
  // Roles for people (userpass users and groups). Access rules per credential come next.
  admin: ACTIONS,
  operator: [
    "sys.seal",
    "approvals.use",
    "sys.key-status",
    "custodians.read",
    "devices.read",
    "devices.checkout",
  ],
  member: ["approvals.use"],
  // Every login token carries it: reading codes and approving is then decided by access rules.
  default: ["approvals.use"],
  // A person who must enable a second factor first: nothing but that (routes marked `enrolment`),
  // looking up and revoking their own token, which every token may.
  "mfa-enrolment": [],
  "totp-reader": READER,
  "totp-admin": [...READER, "totp.key.write", "totp.key.delete"],
  auditor: ["audit.read", "sys.key-status", "custodians.read", "devices.read"],
};

/** The only role of a person who must enable a second factor before anything else. */
export const MFA_ENROLMENT_ONLY = "mfa-enrolment";

export function isAllowed(policies: readonly string[], action: Action): boolean {
  return policies.some((policy) => BUILT_IN_POLICIES[policy]?.includes(action) ?? false);
}

/** Refuses names that are not built-in policies, listing those that are. */
export function checkPolicies(policies: readonly string[]): void {
  const unknown = policies.filter((policy) => !(policy in BUILT_IN_POLICIES));
  if (unknown.length > 0)
    throw badInput(
      `unknown policies: ${unknown.join(", ")} (known: ${Object.keys(BUILT_IN_POLICIES).join(", ")})`,
    );
}
