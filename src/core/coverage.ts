import {
  type DeviceKind,
  type DeviceRecord,
  type DeviceStatus,
  type DueReason,
  dueReasons,
} from "./devices.js";

/**
 * Which protected accounts could be locked out: every account's second factors (breakglass's own
 * virtual MFA and the physical devices kept for it), and what is wrong with them. Pure: the
 * service gathers credentials and devices, this decides.
 */

/** A credential as the report needs it: never its seed. */
export interface CoverageCredential {
  name: string;
  issuer: string;
  accountName: string;
}

export interface CoverageFactor {
  /** `virtual-mfa` is the credential's seed held by breakglass. */
  kind: DeviceKind | "virtual-mfa";
  /** The device's id; null for breakglass's own factor. */
  deviceId: string | null;
  label: string;
  serial: string | null;
  location: string;
  status: DeviceStatus | "in-breakglass";
  due: DueReason[];
  /** False for a lost device: listed, but it protects nothing. */
  usable: boolean;
}

export const COVERAGE_FLAGS = ["no-factor", "single-factor", "one-location", "all-due"] as const;
export type CoverageFlagName = (typeof COVERAGE_FLAGS)[number];

export interface CoverageFlag {
  flag: CoverageFlagName;
  /** What is wrong and what to do, in one sentence. */
  text: string;
}

export interface AccountCoverage {
  /** Its first credential's name (by name), or the free-text name devices give in `protects`. */
  account: string;
  /**
   * The breakglass credentials of this account, by name: several when one account has several
   * virtual MFAs (AWS allows eight per root user); none for an account breakglass does not hold.
   */
  credentials: CoverageCredential[];
  factors: CoverageFactor[];
  flags: CoverageFlag[];
}

/** Where breakglass's own factor is, for the one-location comparison and the report. */
export const BREAKGLASS_LOCATION = "breakglass";

/**
 * Which account a credential is: its issuer and account name (ignoring case and extra spaces),
 * so that three credentials for AWS's root@acme.example are one account with three factors.
 * Without an issuer the account name alone says nothing of which service it is: such a
 * credential is an account of its own.
 */
function accountKeyOf(credential: CoverageCredential): string {
  const issuer = folded(credential.issuer);
  return issuer ? `issuer\n${issuer}\n${folded(credential.accountName)}` : `name\n${credential.name}`;
}

/**
 * One entry per account: the credentials of one issuer and account name together, and every name
 * a device that is not retired protects (a credential's name is that credential's account).
 * Retired devices are left out.
 */
export function coverageOf(
  credentials: readonly CoverageCredential[],
  devices: readonly DeviceRecord[],
  now: Date,
  windowDays: number,
): AccountCoverage[] {
  const accounts = new Map<string, AccountCoverage>();
  /** The account a name in a device's `protects` means. */
  const keyOfName = new Map<string, string>();
  const accountAt = (key: string, name: string) => {
    let account = accounts.get(key);
    if (!account) {
      account = { account: name, credentials: [], factors: [], flags: [] };
      accounts.set(key, account);
    }
    return account;
  };
  for (const credential of [...credentials].sort((a, b) => byText(a.name, b.name))) {
    const key = accountKeyOf(credential);
    keyOfName.set(credential.name, key);
    const account = accountAt(key, credential.name);
    account.credentials.push(credential);
    account.factors.push({
      kind: "virtual-mfa",
      deviceId: null,
      // Its credential's name: the account's several virtual MFAs are told apart by it.
      label: credential.name,
      serial: null,
      location: BREAKGLASS_LOCATION,
      status: "in-breakglass",
      due: [],
      usable: true,
    });
  }
  for (const device of devices) {
    if (device.status === "retired") continue;
    const factor: CoverageFactor = {
      kind: device.kind,
      deviceId: device.id,
      label: device.label,
      serial: device.serial,
      location: device.location,
      status: device.status,
      due: dueReasons(device, now, windowDays),
      usable: device.status !== "lost",
    };
    // Two names of one account (two of its credentials) make one factor, not two.
    const named = new Map(device.protects.map((name) => [keyOfName.get(name) ?? `free\n${name}`, name]));
    for (const [key, name] of named) accountAt(key, name).factors.push(factor);
  }
  return [...accounts.values()]
    .map((account) => ({ ...account, flags: flagsOf(account.account, account.factors, windowDays) }))
    .sort((a, b) => byText(a.account, b.account));
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** "Safe A, London" and "safe a,  london " are the same safe; "AWS" and "aws " the same issuer. */
function folded(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, " ");
}

function flagsOf(account: string, factors: CoverageFactor[], windowDays: number): CoverageFlag[] {
  const usable = factors.filter((factor) => factor.usable);
  const lost = factors.length - usable.length;
  const physical = usable.filter((factor) => factor.kind !== "virtual-mfa");
  const flags: CoverageFlag[] = [];
  if (usable.length === 0)
    flags.push({
      flag: "no-factor",
      text: `nothing usable protects ${account}${lost > 0 ? ` (${lost} lost device${lost > 1 ? "s" : ""})` : ""}: enrol a new factor now, before anyone needs to sign in`,
    });
  if (usable.length === 1)
    flags.push({
      flag: "single-factor",
      text: `${account} has one factor only (${describe(usable[0] as CoverageFactor)}): if it is lost or breaks the account is locked out, so enrol a second one kept elsewhere`,
    });
  // Without devices, several credentials of one account are all in breakglass: one place too.
  const placed = physical.length > 0 ? physical : usable;
  const places = new Set(placed.map((factor) => folded(factor.location)));
  if (placed.length >= 2 && places.size === 1)
    flags.push({
      flag: "one-location",
      text:
        physical.length > 0
          ? `all ${physical.length} devices of ${account} are in one place (${(physical[0] as CoverageFactor).location.trim()}): one fire, flood or lost safe key takes them all, so move one elsewhere`
          : `all ${usable.length} factors of ${account} are virtual MFAs in breakglass: if breakglass is lost the account is locked out, so keep a hardware token elsewhere`,
    });
  if (usable.length > 0 && usable.every((factor) => factor.due.length > 0))
    flags.push({
      flag: "all-due",
      text: `every factor of ${account} is due within ${windowDays} days: replace the batteries or review the devices before they all lapse`,
    });
  return flags;
}

function describe(factor: CoverageFactor): string {
  if (factor.kind === "virtual-mfa") return "the virtual MFA in breakglass";
  return `${factor.label}, serial ${factor.serial}, in ${factor.location.trim()}`;
}
