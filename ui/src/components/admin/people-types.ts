/** People and groups as the API shows them (auth/userpass/users, groups). */

export interface User {
  username: string;
  policies: string[];
  groups: string[];
  display_name: string;
  email: string;
  locked_until: string | null;
  /** The person's own second factor. */
  mfa: "none" | "pending" | "enabled";
  require_mfa: boolean;
}

export interface Group {
  name: string;
  members: string[];
  policies: string[];
}

/** The roles given to people and groups (src/core/policy.ts); machine-token policies are left out. */
export const PERSON_ROLES = [
  { value: "admin", label: "admin: everything" },
  { value: "operator", label: "operator: seal, devices, key status" },
  { value: "auditor", label: "auditor: read and verify the audit log" },
  { value: "member", label: "member: own token and approvals" },
];
