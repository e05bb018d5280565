// Over 400 lines: a device's whole life (register, update, check out under its credential's rule, check in, retire) shares one set of state checks and audit entries.
import { randomBytes } from "node:crypto";
import type { AuditAction } from "../../core/audit-actions.js";
import { type Clock, isoTime } from "../../core/clock.js";
import {
  DEVICE_KINDS,
  DEVICE_STATUSES,
  type DeviceKind,
  type DeviceRecord,
  type DeviceStatus,
  type DueReason,
  dueReasons,
  parseDate,
} from "../../core/devices.js";
import { BreakglassError, badInput, conflict, notFound, permissionDenied } from "../../core/errors.js";
import { isAllowed } from "../../core/policy.js";
import type { Store } from "../../store/store.js";
import type { ApprovalService } from "../access/approvals.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Authorizer } from "../auth/authorizer.js";
import { actorOf, type RequestContext } from "../context.js";

/** The fields a person describes a device with; null clears a date or the access rule. */
export interface DeviceInput {
  kind?: string;
  serial?: string;
  label?: string;
  protects?: string[];
  location?: string;
  custodian?: string;
  batteryExpires?: string | null;
  reviewBy?: string | null;
  notes?: string;
  accessRule?: string | null;
}

export type DevicePatch = DeviceInput & { status?: string };

/** A device as listed: with why it is due when a window was asked for. */
export type DeviceView = DeviceRecord & { due?: DueReason[] };

type Described = Pick<DeviceRecord, keyof DeviceInput>;

/** The API's names for the fields, for messages and audit details. */
const FIELD_NAMES: Record<keyof Described | "status", string> = {
  kind: "kind",
  serial: "serial",
  label: "label",
  protects: "protects",
  location: "location",
  custodian: "custodian",
  batteryExpires: "battery_expires",
  reviewBy: "review_by",
  notes: "notes",
  accessRule: "access_rule",
  status: "status",
};
const REQUIRED = ["kind", "serial", "label", "protects", "location", "custodian"] as const;
const ONE_LINE_LIMITS = { serial: 200, label: 200, location: 200, custodian: 200 } as const;
const NOTES_LIMIT = 4000;
const PROTECTS_LIMIT = 50;
const PROTECTED_NAME_LIMIT = 200;
/** What `update` may set; `checked-out` comes only with a check-out. */
const SETTABLE_STATUSES: readonly DeviceStatus[] = ["in-safe", "lost", "retired"];
const DEVICE_ID = /^dev-[0-9a-f]{12}$/;
const target = (id: string) => `device:${id}`;

/**
 * The registry of physical MFA devices (tokens in the safe, FIDO keys, recovery codes): where each
 * is, who holds it, when it is due, and check-out and check-in under the same rules as a code read
 * of the credential it names (`access_rule`), or by admins and operators. Every change is audited
 * before it is stored.
 */
export class DeviceService {
  constructor(
    private readonly store: Store,
    private readonly authorizer: Authorizer,
    private readonly audit: AuditLog,
    private readonly approvals: ApprovalService,
    private readonly clock: Clock,
  ) {}

  async create(input: DeviceInput, ctx: RequestContext): Promise<DeviceRecord> {
    const missing = REQUIRED.filter((field) => input[field] === undefined);
    if (missing.length > 0)
      throw badInput(`missing: ${missing.join(", ")} (a device needs ${REQUIRED.join(", ")})`);
    const now = isoTime(this.clock);
    const device: DeviceRecord = {
      id: `dev-${randomBytes(6).toString("hex")}`,
      notes: "",
      batteryExpires: null,
      reviewBy: null,
      accessRule: null,
      // Every required field is there (checked above); the optional ones keep these defaults when absent.
      ...((await this.checkFields(input)) as Pick<Described, (typeof REQUIRED)[number]>),
      status: "in-safe",
      checkedOutBy: null,
      checkedOutAt: null,
      checkoutReason: null,
      remindedOn: null,
      createdAt: now,
      updatedAt: now,
    };
    checkDated(device);
    await this.audit.record(ctx, {
      action: "devices.create",
      target: target(device.id),
      outcome: "allowed",
      details: {
        serial: device.serial,
        kind: device.kind,
        label: device.label,
        location: device.location,
        custodian: device.custodian,
      },
    });
    if (!(await this.store.devices.insert(device))) throw conflict("device id taken: try again");
    return device;
  }

  async get(id: string): Promise<DeviceRecord> {
    return this.find(id);
  }

  /** Every device but retired ones (unless asked for); with a window, only those due in it, soonest first. */
  async list(options: { status?: string; dueWithinDays?: number }): Promise<DeviceView[]> {
    const { status, dueWithinDays } = options;
    if (status !== undefined && !DEVICE_STATUSES.includes(status as DeviceStatus))
      throw badInput(`status must be one of: ${DEVICE_STATUSES.join(", ")}`);
    const devices = (await this.store.devices.list()).filter((device) =>
      status === undefined ? device.status !== "retired" : device.status === status,
    );
    if (dueWithinDays === undefined) return devices;
    const now = new Date(this.clock.now());
    return devices
      .map((device) => ({ ...device, due: dueReasons(device, now, dueWithinDays) }))
      .filter((device) => device.due.length > 0)
      .sort((a, b) => soonest(a.due) - soonest(b.due));
  }

  async update(id: string, patch: DevicePatch, ctx: RequestContext): Promise<DeviceRecord> {
    const { status, ...fields } = patch;
    const device = await this.find(id);
    if (status !== undefined && !SETTABLE_STATUSES.includes(status as DeviceStatus))
      throw badInput(
        `status can be set to ${SETTABLE_STATUSES.join(", ")}; a device is checked out with checkout`,
      );
    const described = { ...device, ...(await this.checkFields(fields)) };
    if (status !== undefined) refuseWhileOut(device, status as DeviceStatus);
    const next = status === undefined ? described : withStatus(described, status as DeviceStatus);
    const changed = (Object.keys(FIELD_NAMES) as (keyof typeof FIELD_NAMES)[]).filter(
      (field) => JSON.stringify(device[field]) !== JSON.stringify(next[field]),
    );
    if (changed.length === 0) return device;
    checkDated(next);
    await this.audit.record(ctx, {
      action: "devices.update",
      target: target(id),
      outcome: "allowed",
      details: { serial: next.serial, changed: changed.map((field) => FIELD_NAMES[field]).join(",") },
    });
    return this.commit(device, next, ctx, "devices.update");
  }

  /** Retired, never deleted: the audit log goes on naming it. */
  async retire(id: string, reason: string | null, ctx: RequestContext): Promise<DeviceRecord> {
    const device = await this.find(id);
    if (device.status === "retired") return device;
    refuseWhileOut(device, "retired");
    const next = withStatus(device, "retired");
    await this.audit.record(ctx, {
      action: "devices.retire",
      target: target(id),
      outcome: "allowed",
      reason,
      details: { serial: device.serial, label: device.label },
    });
    return this.commit(device, next, ctx, "devices.retire");
  }

  /**
   * Takes a device out of the safe: with its access rule's readers, reason and approvals when it
   * names a credential, else for admins and operators. Audited before the change is stored.
   */
  async checkout(
    id: string,
    request: { reason: string | null; approvalId: string | null },
    ctx: RequestContext,
  ): Promise<DeviceRecord> {
    const action = "devices.checkout";
    const device = await this.findFor(action, id, request, ctx);
    const refuse = this.refuser(action, device, request, ctx);
    // An approval carries its reason; without one, the check-out needs its own.
    if (!request.reason && !request.approvalId)
      throw await refuse(
        "no reason given",
        new BreakglassError("REASON_REQUIRED", "a reason is required to check a device out"),
      );
    const grant = await this.authorizer.enforceUse(ctx, {
      ...this.refusalOf(action, device, request),
      use: {
        keyName: device.accessRule,
        reason: request.reason,
        approvalId: request.approvalId,
        terms: {
          what: `checking out ${id} (under the access rule of ${device.accessRule})`,
          noReason: "a reason is required to check a device out",
        },
        // A device without an access rule: admins and operators check it out.
        withoutRule: {
          permission: "devices.checkout",
          message:
            "permission denied: this device has no access rule: only admins and operators may check it out",
        },
      },
    });
    if (device.status !== "in-safe") throw await refuse(`device ${device.status}`, notInSafe(device));
    const now = isoTime(this.clock);
    const reason = grant.reason ?? request.reason; // the approved reason when an approval released it
    const approvers = grant.approval?.approvers ?? [];
    await this.audit.record(ctx, {
      action,
      target: target(id),
      outcome: "allowed",
      reason: reason,
      approvalIds: grant.approval ? [grant.approval.id] : [],
      details: {
        serial: device.serial,
        label: device.label,
        ...(approvers.length > 0 ? { approvers: approvers.join(",") } : {}),
      },
      notify: {
        type: "device.checkout",
        actor: grant.reader.owner,
        reason: reason,
        ...(device.accessRule ? { key: device.accessRule } : {}),
        ...(grant.approval ? { approvalId: grant.approval.id, approvers } : {}),
        ...(grant.rule?.notify.length ? { channels: grant.rule.notify } : {}),
        text: `${grant.reader.owner} checked out ${deviceName(device)}: "${reason}"${approvers.length > 0 ? ` (approved by ${approvers.join(", ")})` : ""}`,
      },
    });
    const next: DeviceRecord = {
      ...device,
      status: "checked-out",
      checkedOutBy: grant.reader.owner,
      checkedOutAt: now,
      checkoutReason: reason,
    };
    return this.commit(device, next, ctx, action);
  }

  /** Back in the safe: by whoever checked it out, or an admin or operator. */
  async checkin(id: string, request: { reason: string | null }, ctx: RequestContext): Promise<DeviceRecord> {
    const action = "devices.checkin";
    const device = await this.findFor(action, id, request, ctx);
    const refuse = this.refuser(action, device, request, ctx);
    const actor = actorOf(ctx);
    const who = actor.owner;
    if (device.checkedOutBy !== who && !isAllowed(actor.policies, "devices.checkout"))
      throw await refuse(
        "not the one who checked it out",
        permissionDenied(
          "permission denied: only whoever checked the device out, an operator or an admin may check it in",
        ),
      );
    if (device.status !== "checked-out")
      throw await refuse(
        `device ${device.status}`,
        conflict(`device ${id} is not checked out (it is ${device.status})`),
      );
    const outSeconds = Math.max(
      0,
      Math.round((this.clock.now() - Date.parse(device.checkedOutAt ?? "")) / 1000),
    );
    const rule = device.accessRule ? await this.approvals.ruleOf(device.accessRule) : null;
    await this.audit.record(ctx, {
      action,
      target: target(id),
      outcome: "allowed",
      reason: request.reason,
      details: {
        serial: device.serial,
        label: device.label,
        checked_out_by: device.checkedOutBy,
        checked_out_at: device.checkedOutAt,
        out_seconds: outSeconds,
      },
      notify: {
        type: "device.checkout",
        actor: who,
        reason: request.reason,
        ...(device.accessRule ? { key: device.accessRule } : {}),
        ...(rule?.notify.length ? { channels: rule.notify } : {}),
        text: `${who} put ${deviceName(device)} back in the safe after ${spelledOut(outSeconds)}${request.reason ? `: "${request.reason}"` : ""}`,
      },
    });
    return this.commit(device, withStatus(device, "in-safe"), ctx, action);
  }

  private async find(id: string): Promise<DeviceRecord> {
    if (!DEVICE_ID.test(id)) throw badInput(`${id} is not a device id: they look like dev-0123456789ab`);
    const device = await this.store.devices.find(id);
    if (!device) throw notFound(`no device ${id}`);
    return device;
  }

  /** The device for a check-out or check-in; an unknown one is on the audit log too. */
  private async findFor(
    action: AuditAction,
    id: string,
    request: { reason: string | null },
    ctx: RequestContext,
  ): Promise<DeviceRecord> {
    try {
      return await this.find(id);
    } catch (error) {
      await this.audit.record(ctx, {
        action,
        target: target(id),
        outcome: "failed",
        reason: request.reason,
        details: { problem: "unknown device" },
      });
      throw error;
    }
  }

  /** How a refused check-out or check-in is recorded: with its reason, approval and the device's serial. */
  private refusalOf(
    action: AuditAction,
    device: DeviceRecord,
    request: { reason: string | null; approvalId?: string | null },
  ) {
    return {
      action,
      target: target(device.id),
      entry: {
        reason: request.reason,
        approvalIds: request.approvalId ? [request.approvalId] : [],
        details: { serial: device.serial },
      },
    };
  }

  /** Records a refused check-out or check-in (with its reason and why), then hands back the error to throw. */
  private refuser(
    action: AuditAction,
    device: DeviceRecord,
    request: { reason: string | null; approvalId?: string | null },
    ctx: RequestContext,
  ) {
    const question = this.refusalOf(action, device, request);
    return (problem: string, error: BreakglassError) => this.authorizer.refuse(ctx, question, problem, error);
  }

  /** Stores `next` only if nobody changed the device meanwhile; otherwise 409, and the log says it failed. */
  private async commit(
    previous: DeviceRecord,
    next: DeviceRecord,
    ctx: RequestContext,
    action: AuditAction,
  ): Promise<DeviceRecord> {
    const stored = { ...next, updatedAt: stamp(previous, this.clock.now()) };
    if (await this.store.devices.update(previous, stored)) return stored;
    await this.audit.record(ctx, {
      action,
      target: target(previous.id),
      outcome: "failed",
      details: { problem: "changed by another request at the same moment", serial: previous.serial },
    });
    throw conflict(`device ${previous.id} was changed by someone else at the same moment: look again`);
  }

  /** Checks the fields given (absent ones stay as they are); messages name the API's field. */
  private async checkFields(input: DeviceInput): Promise<Partial<Described>> {
    const checked: Partial<Described> = {};
    if (input.kind !== undefined) {
      if (!DEVICE_KINDS.includes(input.kind as DeviceKind))
        throw badInput(`kind must be one of: ${DEVICE_KINDS.join(", ")}`);
      checked.kind = input.kind as DeviceKind;
    }
    for (const field of Object.keys(ONE_LINE_LIMITS) as (keyof typeof ONE_LINE_LIMITS)[]) {
      const value = input[field];
      if (value !== undefined) checked[field] = oneLine(value, field, ONE_LINE_LIMITS[field]);
    }
    if (input.protects !== undefined) {
      if (input.protects.length < 1 || input.protects.length > PROTECTS_LIMIT)
        throw badInput(`protects must list from 1 to ${PROTECTS_LIMIT} credential or account names`);
      checked.protects = [
        ...new Set(input.protects.map((name) => oneLine(name, "protects", PROTECTED_NAME_LIMIT))),
      ];
    }
    if (input.notes !== undefined) {
      if (input.notes.length > NOTES_LIMIT)
        throw badInput(`notes is too long: at most ${NOTES_LIMIT} characters`);
      checked.notes = input.notes.trim();
    }
    for (const field of ["batteryExpires", "reviewBy"] as const) {
      const value = input[field];
      if (value !== undefined) checked[field] = value === null ? null : parseDate(value, FIELD_NAMES[field]);
    }
    if (input.accessRule !== undefined)
      checked.accessRule = input.accessRule === null ? null : await this.checkAccessRule(input.accessRule);
    return checked;
  }

  private async checkAccessRule(name: string): Promise<string> {
    if (!(await this.store.findTotpKey(name)))
      throw badInput(`access_rule must name a credential: there is no key named ${name}`);
    return name;
  }
}

function oneLine(value: string, field: string, limit: number): string {
  const text = value.trim();
  if (text.length === 0) throw badInput(`${field} must not be empty`);
  if (text.length > limit) throw badInput(`${field} is too long: at most ${limit} characters`);
  return text;
}

/** A device nobody has to look at again is one nobody will: it needs a battery or a review date. */
function checkDated(device: DeviceRecord): void {
  if (device.batteryExpires === null && device.reviewBy === null)
    throw badInput("give battery_expires or review_by (or both), so that the device comes up when due");
}

/** A checked-out device comes back only by check-in, and is never retired while out (it may be lost). */
function refuseWhileOut(device: DeviceRecord, status: DeviceStatus): void {
  if (device.status === "checked-out" && status !== "lost")
    throw conflict(
      `device ${device.id} is checked out by ${device.checkedOutBy} since ${device.checkedOutAt}: check it in first`,
    );
}

/** The device in a new status: back in the safe, it forgets who had it; lost or retired, it keeps that. */
function withStatus(device: DeviceRecord, status: DeviceStatus): DeviceRecord {
  if (status !== "in-safe") return { ...device, status };
  return { ...device, status, checkedOutBy: null, checkedOutAt: null, checkoutReason: null };
}

function notInSafe(device: DeviceRecord): BreakglassError {
  if (device.status === "checked-out")
    return conflict(
      `device ${device.id} is already checked out by ${device.checkedOutBy} since ${device.checkedOutAt} ("${device.checkoutReason}")`,
    );
  return conflict(`device ${device.id} is ${device.status}: it cannot be checked out`);
}

/** A later updated_at than the row's, even within the same millisecond (the store compares it). */
function stamp(previous: DeviceRecord, now: number): string {
  const before = Date.parse(previous.updatedAt);
  return new Date(now > before ? now : before + 1).toISOString();
}

const soonest = (due: DueReason[]) => Math.min(...due.map((reason) => reason.daysLeft));

/** "the AWS root token (hardware-totp, serial 12345, dev-…)" */
function deviceName(device: DeviceRecord): string {
  return `${device.label} (${device.kind}, serial ${device.serial}, ${device.id})`;
}

/** "3 d 4 h", "2 h 5 min", "40 s": the two largest units. */
function spelledOut(seconds: number): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), "d"],
    [Math.floor((seconds % 86_400) / 3600), "h"],
    [Math.floor((seconds % 3600) / 60), "min"],
    [seconds % 60, "s"],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  if (first < 0) return "0 s";
  return parts
    .slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(" ");
}
