import type { FastifyInstance, FastifyRequest } from "fastify";
import { DEVICE_KINDS, DEVICE_STATUSES, type DueReason, parseWindowDays } from "../../core/devices.js";
import { badInput } from "../../core/errors.js";
import type { DeviceInput, DeviceView } from "../../services/devices/devices.js";
import type { Services } from "../../services/index.js";
import { reasonOf } from "../request-context.js";
import { dataEnvelope, errorSchema } from "../schemas.js";
import { vaultWrite } from "../vault-write.js";

/** The registry of physical MFA devices, and their check-out and check-in, at devices/*. */

export const dueSchema = {
  type: "array",
  items: {
    type: "object",
    properties: {
      what: { type: "string", enum: ["battery", "review"] },
      date: { type: "string", description: "YYYY-MM-DD" },
      days_left: { type: "integer", description: "negative when already past" },
    },
  },
} as const;

export const dueBody = (due: DueReason[]) =>
  due.map((reason) => ({ what: reason.what, date: reason.date, days_left: reason.daysLeft }));

const nullableText = { type: ["string", "null"] } as const;

const deviceProperties = {
  id: { type: "string" },
  kind: { type: "string", enum: [...DEVICE_KINDS] },
  serial: { type: "string" },
  label: { type: "string" },
  protects: { type: "array", items: { type: "string" } },
  location: { type: "string" },
  custodian: { type: "string" },
  battery_expires: nullableText,
  review_by: nullableText,
  notes: { type: "string" },
  status: { type: "string", enum: [...DEVICE_STATUSES] },
  access_rule: nullableText,
  checked_out_by: nullableText,
  checked_out_at: nullableText,
  checkout_reason: nullableText,
  created_at: { type: "string" },
  updated_at: { type: "string" },
  due: { ...dueSchema, description: "with due_within only: what is due, and when" },
};

/**
 * The describing fields, for create (some required) and update (any). Free text is checked here
 * (core/text.ts); lengths and the rest by the service.
 */
const fieldProperties = {
  kind: { type: "string", maxLength: 64, description: `one of ${DEVICE_KINDS.join(", ")}` },
  serial: {
    type: "string",
    "x-text": "line",
    description: "the serial number printed on it (at most 200 characters)",
  },
  label: {
    type: "string",
    "x-text": "line",
    description: "what people call it: AWS root token (at most 200 characters)",
  },
  protects: {
    type: "array",
    items: { type: "string", "x-text": "line" },
    description: "1 to 50 credential names and/or names of accounts it is an MFA device of",
  },
  location: { type: "string", "x-text": "line", description: "where it is kept: Safe B, Berlin office" },
  custodian: { type: "string", "x-text": "line", description: "who holds that place (the safe's keyholder)" },
  battery_expires: { ...nullableText, description: "YYYY-MM-DD, or null for none" },
  review_by: { ...nullableText, description: "YYYY-MM-DD: when someone must look at it next; or null" },
  notes: {
    type: "string",
    "x-text": "lines",
    description: "free text, at most 4000 characters; lines break with \\n",
  },
  access_rule: {
    ...nullableText,
    description:
      "a credential whose access rule governs check-out (readers, reason, approvals); null: admins and operators",
  },
} as const;

const idParams = {
  type: "object",
  required: ["id"],
  properties: {
    id: { type: "string", maxLength: 64, "x-text": "line", description: "dev- and 12 hex digits" },
  },
} as const;

const reasonQuery = {
  type: "object",
  properties: { reason: { type: "string", description: "recorded; also X-Breakglass-Reason" } },
} as const;

const deviceResponses = {
  200: dataEnvelope(deviceProperties),
  400: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
} as const;

/** The describing fields as the API names them. */
type FieldBody = Omit<DeviceInput, "batteryExpires" | "reviewBy" | "accessRule"> & {
  battery_expires?: string | null;
  review_by?: string | null;
  access_rule?: string | null;
};

export function deviceRoutes(app: FastifyInstance, services: Services): void {
  const { devices } = services;

  app.post(
    "/v1/devices",
    {
      config: { action: "devices.create" },
      schema: {
        summary: "Register a physical MFA device (in the safe); it needs battery_expires or review_by",
        tags: ["devices"],
        body: {
          type: "object",
          required: ["kind", "serial", "label", "protects", "location", "custodian"],
          properties: fieldProperties,
        },
        response: deviceResponses,
      },
    },
    async (request) => ({
      data: deviceBody(await devices.create(inputOf(request.body as FieldBody), request.ctx)),
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
        querystring: {
          type: "object",
          properties: {
            status: { type: "string", maxLength: 32, description: DEVICE_STATUSES.join(", ") },
            due_within: {
              type: "string",
              maxLength: 16,
              description: "only devices whose battery or review is due within 60d, 8w…; overdue ones too",
            },
          },
        },
        response: {
          200: dataEnvelope({
            devices: { type: "array", items: { type: "object", properties: deviceProperties } },
          }),
          400: errorSchema,
          403: errorSchema,
        },
      },
    },
    async (request) => {
      const query = request.query as { status?: string; due_within?: string };
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
      schema: { summary: "One device", tags: ["devices"], params: idParams, response: deviceResponses },
    },
    async (request) => ({ data: deviceBody(await devices.get(idOf(request))) }),
  );

  app.patch(
    "/v1/devices/:id",
    {
      config: { action: "devices.update" },
      schema: {
        summary: "Change what is given; status only to in-safe, lost or retired (check-out has its own path)",
        tags: ["devices"],
        params: idParams,
        body: {
          type: "object",
          properties: {
            ...fieldProperties,
            status: { type: "string", maxLength: 32, description: "in-safe, lost or retired" },
          },
        },
        response: deviceResponses,
      },
    },
    async (request) => {
      const body = request.body as FieldBody & { status?: string };
      const patch = { ...inputOf(body), status: body.status };
      return { data: deviceBody(await devices.update(idOf(request), patch, request.ctx)) };
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
        params: idParams,
        querystring: reasonQuery,
        response: deviceResponses,
      },
    },
    async (request) => {
      const reason = reasonOf(request, retireReason(request));
      return { data: deviceBody(await devices.retire(idOf(request), reason, request.ctx)) };
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
        params: idParams,
        body: {
          type: "object",
          properties: {
            reason: { type: "string", description: "required: why (recorded); also X-Breakglass-Reason" },
            approval: {
              type: "string",
              maxLength: 64,
              description: "an approved request under the access rule",
            },
          },
        },
        response: deviceResponses,
      },
    },
    async (request) => {
      const approval = (request.body as { approval?: string } | undefined)?.approval;
      const device = await devices.checkout(
        idOf(request),
        { reason: reasonOf(request, bodyReason(request)), approvalId: approval ?? null },
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
        params: idParams,
        body: { type: "object", properties: { reason: { type: "string", description: "recorded" } } },
        response: deviceResponses,
      },
    },
    async (request) => {
      const reason = reasonOf(request, bodyReason(request));
      return { data: deviceBody(await devices.checkin(idOf(request), { reason }, request.ctx)) };
    },
  );
}

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

const bodyReason = (request: FastifyRequest) => (request.body as { reason?: string } | undefined)?.reason;

/** A DELETE has no body schema (most clients send no body), so the type of its reason is checked here. */
function retireReason(request: FastifyRequest): string | undefined {
  const reason = (request.body as { reason?: unknown } | undefined)?.reason;
  if (reason !== undefined && typeof reason !== "string") throw badInput("reason must be text");
  return reason ?? (request.query as { reason?: string }).reason;
}

function inputOf(body: FieldBody): DeviceInput {
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

function deviceBody(device: DeviceView) {
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
