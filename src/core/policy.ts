/**
 * Who may do what, until people, groups and per-credential rules arrive: a fixed set of
 * built-in policies naming the actions they allow. Every decision goes through `isAllowed`.
 */

export const ACTIONS = [
  "sys.seal",
  "token.create",
  "token.self",
  "totp.key.write",
  "totp.key.delete",
  "totp.key.read",
  "totp.code.read",
  "totp.code.validate",
  "audit.read",
  "audit.configure",
] as const;
export type Action = (typeof ACTIONS)[number];

const READER: Action[] = ["totp.key.read", "totp.code.read", "totp.code.validate"];

export const BUILT_IN_POLICIES: Record<string, readonly Action[]> = {
  root: ACTIONS,
  default: ["token.self"],
  "totp-reader": READER,
  "totp-admin": [...READER, "totp.key.write", "totp.key.delete"],
  auditor: ["audit.read"],
};

export function isAllowed(policies: readonly string[], action: Action): boolean {
  return policies.some((policy) => BUILT_IN_POLICIES[policy]?.includes(action) ?? false);
}

export function unknownPolicies(policies: readonly string[]): string[] {
  return policies.filter((policy) => !(policy in BUILT_IN_POLICIES));
}
