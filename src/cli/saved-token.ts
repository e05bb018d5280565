import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** The token `breakglass login` keeps for later commands: one file, readable by its owner only. */

/** BREAKGLASS_TOKEN_FILE, when set, names another file: two people on one machine each keep their own. */
export function savedTokenPath(): string {
  const chosen = process.env.BREAKGLASS_TOKEN_FILE?.trim();
  if (chosen) return chosen;
  const configHome = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(configHome, "breakglass", "token");
}

export function readSavedToken(): string | undefined {
  try {
    return readFileSync(savedTokenPath(), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Written to a fresh 0600 file and renamed over the old one, so the token is never readable by others. */
export function saveToken(token: string): string {
  const path = savedTokenPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Our own directory is tightened; a directory BREAKGLASS_TOKEN_FILE names is the user's to keep.
  if (!process.env.BREAKGLASS_TOKEN_FILE?.trim()) chmodSync(dirname(path), 0o700);
  const fresh = `${path}.${process.pid}.tmp`;
  writeFileSync(fresh, `${token}\n`, { mode: 0o600, flag: "wx" });
  renameSync(fresh, path);
  return path;
}
