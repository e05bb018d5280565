import {
  CheckinBody,
  CheckoutBody,
  CreateDeviceBody,
  type Device,
  DeviceIdParams,
  DeviceListQuery,
  DeviceSchema,
  RetireQuery,
  UpdateDeviceBody,
} from "../../api/devices.js";
import { type DueReason, parseWindowDays } from "../../core/devices.js";
import { badInput } from "../../core/errors.js";
import type { DeviceInput, DeviceView } from "../../services/devices/devices.js";
import type { Services } from "../../services/index.js";
import { errorSchema } from "../error-schema.js";
import { reasonOf } from "../request-context.js";
import type { RequestOf, RouteApp } from "../route-types.js";
import { dataEnvelope } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** The registry of physical MFA devices, and their check-out and check-in, at devices/*. */

export const dueBody = (due: DueReason[]) =>
  due.map((reason) => ({ what: reason.what, date: reason.date, days_left: reason.daysLeft }));

const deviceResponses = {
  200: dataEnvelope(DeviceSchema.properties),
  400: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
} as const;

export function deviceRoutes(app: RouteApp, services: Services): void {
  const { devices } = services;

  app.post(
    "/v1/devices",
    {
      config: { action: "devices.create" },
      schema: {
        summary: "Register a physical MFA device (in the safe); it needs battery_expires or review_by",
        tags: ["devices"],
        body: CreateDeviceBody,
        response: deviceResponses,
      },
    },
    async (request) => ({
      data: deviceBody(await devices.create(inputOf(request.body), request.ctx)),
    }),
  );

  app.get(
    "/v1/devices",
    {
      config: { action: "devices.read" },
      schema: {
        summary:
          "The devices (retired ones only with status=retired); with due_within, those due, soonest first",
        tags: ["devices"],
        querystring: DeviceListQuery,
        response: {
          200: dataEnvelope({
            devices: { type: "array", items: DeviceSchema },
          }),
          400: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      const { query } = request;
      const list = await devices.list({
        status: query.status,
        dueWithinDays: query.due_within === undefined ? undefined : parseWindowDays(query.due_within),
      });
      return { data: { devices: list.map(deviceBody) } };
    },
  );

  app.get(
    "/v1/devices/:id",
    {
      config: { action: "devices.read" },
      schema: { summary: "One device", tags: ["devices"], params: DeviceIdParams, response: deviceResponses },
    },
    async (request) => ({ data: deviceBody(await devices.get(request.params.id)) }),
  );

  app.patch(
    "/v1/devices/:id",
    {
      config: { action: "devices.update" },
      schema: {
        summary: "Change what is given; status only to in-safe, lost or retired (check-out has its own path)",
        tags: ["devices"],
        params: DeviceIdParams,
        body: UpdateDeviceBody,
        response: deviceResponses,
      },
    },
    async (request) => {
      const { body } = request;
      const patch = { ...inputOf(body), status: body.status };
      return { data: deviceBody(await devices.update(request.params.id, patch, request.ctx)) };
    },
  );

  app.delete(
    "/v1/devices/:id",
    {
      config: { action: "devices.retire" },
      schema: {
        summary:
          "Retire a device: kept on record (the audit log names it), never listed as due; not while checked out",
        tags: ["devices"],
        params: DeviceIdParams,
        querystring: RetireQuery,
        response: deviceResponses,
      },
    },
    async (request) => {
      const reason = reasonOf(request, retireReason(request));
      return { data: deviceBody(await devices.retire(request.params.id, reason, request.ctx)) };
    },
  );

  vaultWrite(
    app,
    "/v1/devices/:id/checkout",
    {
      // Decided per device (its access rule, or the devices.checkout role), in the service.
      config: { action: "devices.checkout" },
      schema: {
        summary:
          "Take a device out of the safe, with a reason; under its access rule (readers, approvals) or for admins and operators",
        tags: ["devices"],
        params: DeviceIdParams,
        body: CheckoutBody,
        response: deviceResponses,
      },
    },
    async (request) => {
      const approval = request.body?.approval;
      const device = await devices.checkout(
        request.params.id,
        { reason: reasonOf(request, request.body?.reason), approvalId: approval ?? null },
        request.ctx,
      );
      return { data: deviceBody(device) };
    },
  );

  vaultWrite(
    app,
    "/v1/devices/:id/checkin",
    {
      config: { action: "devices.checkin" },
      schema: {
        summary: "Put a checked-out device back in the safe: whoever took it, an operator or an admin",
        tags: ["devices"],
        params: DeviceIdParams,
        body: CheckinBody,
        response: deviceResponses,
      },
    },
    async (request) => {
      const reason = reasonOf(request, request.body?.reason);
      return { data: deviceBody(await devices.checkin(request.params.id, { reason }, request.ctx)) };
    },
  );
}

/** A DELETE has no body schema (most clients send no body), so the type of its reason is checked here. */
function retireReason(request: RequestOf<{ querystring: typeof RetireQuery }>): string | undefined {
  const body: unknown = request.body;
  const reason = typeof body === "object" && body !== null && "reason" in body ? body.reason : undefined;
  if (reason !== undefined && typeof reason !== "string") throw badInput("reason must be text");
  return reason ?? request.query.reason;
}

function inputOf(body: UpdateDeviceBody): DeviceInput {
  return {
    kind: body.kind,
    serial: body.serial,
    label: body.label,
    protects: body.protects,
    location: body.location,
    custodian: body.custodian,
    batteryExpires: body.battery_expires,
    reviewBy: body.review_by,
    notes: body.notes,
    accessRule: body.access_rule,
  };
}

function deviceBody(device: DeviceView): Device {
  return {
    id: device.id,
    kind: device.kind,
    serial: device.serial,
    label: device.label,
    protects: device.protects,
    location: device.location,
    custodian: device.custodian,
    battery_expires: device.batteryExpires,
    review_by: device.reviewBy,
    notes: device.notes,
    status: device.status,
    access_rule: device.accessRule,
    checked_out_by: device.checkedOutBy,
    checked_out_at: device.checkedOutAt,
    checkout_reason: device.checkoutReason,
    created_at: device.createdAt,
    updated_at: device.updatedAt,
    ...(device.due ? { due: dueBody(device.due) } : {}),
  };
}
