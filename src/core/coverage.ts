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
  /** The credential's name, or the free-text name devices give in `protects`. */
  account: string;
  /** The breakglass credential this account is, or null for an account breakglass does not hold. */
  credential: CoverageCredential | null;
  factors: CoverageFactor[];
  flags: CoverageFlag[];
}

/** Where breakglass's own factor is, for the one-location comparison and the report. */
export const BREAKGLASS_LOCATION = "breakglass";

/**
 * One entry per account, by name: every credential, and every name a device that is not retired
 * protects (a name equal to a credential's is that credential). Retired devices are left out.
 */
export function coverageOf(
  credentials: readonly CoverageCredential[],
  devices: readonly DeviceRecord[],
  now: Date,
  windowDays: number,
): AccountCoverage[] {
  const accounts = new Map<string, AccountCoverage>();
  const accountNamed = (name: string, credential: CoverageCredential | null) => {
    let account = accounts.get(name);
    if (!account) {
      account = { account: name, credential, factors: [], flags: [] };
      accounts.set(name, account);
    }
    return account;
  };
  for (const credential of credentials)
    accountNamed(credential.name, credential).factors.push({
      kind: "virtual-mfa",
      deviceId: null,
      label: credential.issuer ? `${credential.issuer}: ${credential.accountName}` : credential.accountName,
      serial: null,
      location: BREAKGLASS_LOCATION,
      status: "in-breakglass",
      due: [],
      usable: true,
    });
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
    for (const name of new Set(device.protects)) accountNamed(name, null).factors.push(factor);
  }
  return [...accounts.values()]
    .map((account) => ({ ...account, flags: flagsOf(account.account, account.factors, windowDays) }))
    .sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
}

/** "Safe A, London" and "safe a,  london " are the same safe. */
export function sameLocation(location: string): string {
  return location.trim().toLowerCase().replace(/\s+/g, " ");
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
  const places = new Set(physical.map((factor) => sameLocation(factor.location)));
  if (physical.length >= 2 && places.size === 1)
    flags.push({
      flag: "one-location",
      text: `all ${physical.length} devices of ${account} are in one place (${(physical[0] as CoverageFactor).location.trim()}): one fire, flood or lost safe key takes them all, so move one elsewhere`,
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
