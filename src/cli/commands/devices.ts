import { type Command, Option } from "commander";
import type { CheckinBody, CheckoutBody, Device, UpdateDeviceBody } from "../../api/devices.js";
import { DEVICE_KINDS, DEVICE_STATUSES } from "../../core/devices.js";
import { commaList, contextOf } from "../command-context.js";
import { columns, emit, table, usageError } from "../output.js";

const devicePath = (id: string) => `/v1/devices/${encodeURIComponent(id)}`;

/** "none" (or "") clears a date or the access rule. */
const orNone = (text: string) => (text === "" || text === "none" ? null : text);

/** The options that describe a device: required for add, each optional for update. */
function describingOptions(command: Command, required: boolean): Command {
  const option = (flags: string, description: string) => {
    const added = new Option(flags, description);
    if (required) added.makeOptionMandatory();
    return added;
  };
  return command
    .addOption(option("--kind <kind>", "what it is").choices(DEVICE_KINDS))
    .addOption(option("--serial <serial>", "the serial number printed on it"))
    .addOption(option("--label <label>", 'what people call it: "AWS root token"'))
    .addOption(
      option("--protects <list>", "comma-separated credential names and/or accounts it is MFA for").argParser(
        commaList,
      ),
    )
    .addOption(option("--location <where>", 'where it is kept: "Safe B, Berlin office"'))
    .addOption(option("--custodian <who>", "who holds that place (the safe's keyholder)"))
    .option("--battery-expires <date>", "YYYY-MM-DD (none to clear)", orNone)
    .option("--review-by <date>", "YYYY-MM-DD: when someone must look at it next (none to clear)", orNone)
    .option("--notes <text>", "free text")
    .option(
      "--access-rule <credential>",
      "check-out follows this credential's access rule (readers, reason, approvals); none: admins and operators",
      orNone,
    );
}

/** The API's body from the options given; absent ones are left out (update changes only those). */
function bodyOf(options: Record<string, unknown>): UpdateDeviceBody {
  const body: { [Field in keyof UpdateDeviceBody]: unknown } = {
    kind: options.kind,
    serial: options.serial,
    label: options.label,
    protects: options.protects,
    location: options.location,
    custodian: options.custodian,
    battery_expires: options.batteryExpires,
    review_by: options.reviewBy,
    notes: options.notes,
    access_rule: options.accessRule,
    status: options.status,
  };
  // Commander checked each option (choices, parsers): their values are what the API takes.
  return Object.fromEntries(
    Object.entries(body).filter(([, value]) => value !== undefined),
  ) as UpdateDeviceBody;
}

export function registerDevices(program: Command): void {
  const devices = program
    .command("devices")
    .description(
      "physical MFA devices (tokens in the safe, FIDO keys, recovery codes): where, who holds them, what is due, check-out",
    );

  describingOptions(
    devices
      .command("add")
      .description("register a device, in the safe (admins); give --battery-expires or --review-by"),
    true,
  ).action(async (options, command: Command) => {
    const ctx = contextOf(command);
    const device = await ctx.client.data<Device>("POST", "/v1/devices", { body: bodyOf(options) });
    emit(ctx, device, (data) => [`Device ${data.id} registered.`, ...describeDevice(data)]);
  });

  devices
    .command("list")
    .description("the devices (retired ones only with --status retired)")
    .addOption(new Option("--status <status>", "only these").choices(DEVICE_STATUSES))
    .option(
      "--due-within <window>",
      "only those whose battery or review is due within 60d, 8w…, overdue first",
    )
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const data = await ctx.client.data<{ devices: Device[] }>("GET", "/v1/devices", {
        query: { status: options.status, due_within: options.dueWithin },
      });
      emit(ctx, data, ({ devices: list }) =>
        options.dueWithin === undefined ? listLines(list) : dueLines(list, options.dueWithin),
      );
    });

  devices
    .command("due")
    .description("what is due (battery, review) within a window, overdue first")
    .option("--within <window>", "60d, 8w…", "60d")
    .action(async (options, command: Command) => {
      const ctx = contextOf(command);
      const data = await ctx.client.data<{ devices: Device[] }>("GET", "/v1/devices", {
        query: { due_within: options.within },
      });
      emit(ctx, data, ({ devices: list }) => dueLines(list, options.within));
    });

  devices
    .command("show")
    .description("one device")
    .argument("<id>")
    .action(async (id: string, _options, command: Command) => {
      const ctx = contextOf(command);
      emit(ctx, await ctx.client.data<Device>("GET", devicePath(id)), describeDevice);
    });

  describingOptions(
    devices.command("update").description("change what is given (admins)").argument("<id>"),
    false,
  )
    .addOption(
      new Option(
        "--status <status>",
        "lost when it cannot be found; a device is checked out with checkout",
      ).choices(["in-safe", "lost", "retired"]),
    )
    .action(async (id: string, options, command: Command) => {
      const body = bodyOf(options);
      if (Object.keys(body).length === 0) throw usageError("give at least one option to change");
      const ctx = contextOf(command);
      const device = await ctx.client.data<Device>("PATCH", devicePath(id), { body });
      emit(ctx, device, (data) => [`Device ${data.id} updated.`, ...describeDevice(data)]);
    });

  devices
    .command("retire")
    .description("retire a device: kept on record, never listed as due (not while checked out)")
    .argument("<id>")
    .option("--reason <text>", "recorded")
    .action(async (id: string, options, command: Command) => {
      const ctx = contextOf(command);
      const device = await ctx.client.data<Device>("DELETE", devicePath(id), {
        query: { reason: options.reason },
      });
      emit(ctx, device, (data) => `Device ${data.id} (${data.label}) retired; it stays on record.`);
    });

  devices
    .command("checkout")
    .description("take a device out of the safe: under its access rule, or as an admin or operator")
    .argument("<id>")
    // Not a required option: the server says why a reason is needed, and records the refusal.
    .option("--reason <text>", "why (required; recorded and sent to the team)")
    .option(
      "--approval <id>",
      "an approved request under the device's access rule (breakglass approvals request)",
    )
    .action(async (id: string, options, command: Command) => {
      const ctx = contextOf(command);
      const device = await ctx.client.data<Device>("POST", `${devicePath(id)}/checkout`, {
        body: { reason: options.reason, approval: options.approval } satisfies CheckoutBody,
      });
      emit(ctx, device, (data) => [
        `Checked out ${data.label} (serial ${data.serial}) as ${data.checked_out_by}: "${data.checkout_reason}".`,
        `Bring it back with: breakglass devices checkin ${data.id}`,
      ]);
    });

  devices
    .command("checkin")
    .description("put a checked-out device back in the safe")
    .argument("<id>")
    .option("--reason <text>", "recorded")
    .action(async (id: string, options, command: Command) => {
      const ctx = contextOf(command);
      const device = await ctx.client.data<Device>("POST", `${devicePath(id)}/checkin`, {
        body: { reason: options.reason } satisfies CheckinBody,
      });
      emit(
        ctx,
        device,
        (data) => `${data.label} (serial ${data.serial}) is back in the safe at ${data.location}.`,
      );
    });
}

function listLines(list: Device[]): string[] {
  if (list.length === 0) return ["No devices."];
  return columns([
    ["ID", "KIND", "SERIAL", "LABEL", "STATUS", "LOCATION", "BATTERY", "REVIEW"],
    ...list.map((d) => [
      d.id,
      d.kind,
      d.serial,
      d.label,
      d.status === "checked-out" ? `checked out by ${d.checked_out_by}` : d.status,
      d.location,
      d.battery_expires ?? "-",
      d.review_by ?? "-",
    ]),
  ]);
}

function dueLines(list: Device[], window: string): string[] {
  if (list.length === 0) return [`Nothing due within ${window}.`];
  return columns([
    ["ID", "LABEL", "SERIAL", "LOCATION", "DUE"],
    ...list.map((d) => [d.id, d.label, d.serial, d.location, (d.due ?? []).map(dueWords).join("; ")]),
  ]);
}

/** "battery expires in 12 days (2027-03-31)", "review 3 days overdue (2027-03-16)" */
function dueWords(due: NonNullable<Device["due"]>[number]): string {
  const count = Math.abs(due.days_left);
  const days = `${count} day${count === 1 ? "" : "s"}`;
  const words =
    due.what === "battery"
      ? due.days_left > 0
        ? `battery expires in ${days}`
        : due.days_left === 0
          ? "battery expires today"
          : `battery expired ${days} ago`
      : due.days_left > 0
        ? `review due in ${days}`
        : due.days_left === 0
          ? "review due today"
          : `review ${days} overdue`;
  return `${words} (${due.date})`;
}

function describeDevice(device: Device): string[] {
  const rows: [string, string][] = [
    ["ID", device.id],
    ["Kind", device.kind],
    ["Serial", device.serial],
    ["Label", device.label],
    ["Protects", device.protects.join(", ")],
    ["Location", device.location],
    ["Custodian", device.custodian],
    ["Battery expires", device.battery_expires ?? "-"],
    ["Review by", device.review_by ?? "-"],
    ["Status", device.status],
  ];
  if (device.status === "checked-out" || device.checked_out_by)
    rows.push([
      "Checked out",
      `by ${device.checked_out_by} at ${device.checked_out_at}: "${device.checkout_reason}"`,
    ]);
  rows.push(["Access rule", device.access_rule ?? "- (admins and operators check it out)"]);
  if (device.notes) rows.push(["Notes", device.notes]);
  rows.push(["Updated", device.updated_at]);
  return table(rows);
}
