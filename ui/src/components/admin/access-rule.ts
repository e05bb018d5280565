import type { AccessRuleAnswer } from "../../../../src/api/totp.js";

/** A credential's access rule (totp/access/:name) as the server answers it. */
export type AccessRule = AccessRuleAnswer;

/** What a rule may name, offered as choices; empty lists when the session may not list them. */
export interface Known {
  /** `user:NAME` and `group:NAME`, groups first. */
  principals: string[];
  webhooks: string[];
  /** Whether a mail server is set: without one, "email" is not offered. */
  mail: boolean;
}

/** 900 → "15m": how the form and the overview show a lifetime. */
export function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
