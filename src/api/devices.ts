import { type Static, Type } from "typebox";
import { DEVICE_KINDS, DEVICE_STATUSES } from "../core/devices.js";
import { nullableText, oneOf } from "./fields.js";

/**
 * Physical MFA devices (devices/*) and their due dates: the one field set of the API, read by the
 * routes, the CLI and the web UI. Answers list their fields without `required` (fast-json-stringify
 * would throw on a missing one, and the answers always had none), so the types below say which
 * fields an answer always carries.
 */

const dueReasonFields = Type.Object({
  what: oneOf(["battery", "review"]),
  date: Type.String({ description: "YYYY-MM-DD" }),
  days_left: Type.Integer({ description: "negative when already past" }),
});
/** A date that is due: the battery's or the review's. */
export type DueReason = Static<typeof dueReasonFields>;
export const DueSchema = Type.Array(Type.Partial(dueReasonFields));

const deviceFields = Type.Object({
  id: Type.String(),
  kind: oneOf(DEVICE_KINDS),
  serial: Type.String(),
  label: Type.String(),
  protects: Type.Array(Type.String()),
  location: Type.String(),
  custodian: Type.String(),
  battery_expires: nullableText(),
  review_by: nullableText(),
  notes: Type.String(),
  status: oneOf(DEVICE_STATUSES),
  access_rule: nullableText(),
  checked_out_by: nullableText(),
  checked_out_at: nullableText(),
  checkout_reason: nullableText(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
/** A device as the API shows it; `due` only in a list with due_within. */
export type Device = Static<typeof deviceFields> & { due?: DueReason[] };
export const DeviceSchema = Type.Partial(
  Type.Object({
    ...deviceFields.properties,
    due: Type.Array(Type.Partial(dueReasonFields), {
      description: "with due_within only: what is due, and when",
    }),
  }),
);

/**
 * The describing fields, for create (some required) and update (any). Free text is checked here
 * (core/text.ts); lengths and the rest by the service.
 */
const describingFields = {
  kind: Type.String({ maxLength: 64, description: `one of ${DEVICE_KINDS.join(", ")}` }),
  serial: Type.String({
    "x-text": "line",
    description: "the serial number printed on it (at most 200 characters)",
  }),
  label: Type.String({
    "x-text": "line",
    description: "what people call it: AWS root token (at most 200 characters)",
  }),
  protects: Type.Array(Type.String({ "x-text": "line" }), {
    description: "1 to 50 credential names and/or names of accounts it is an MFA device of",
  }),
  location: Type.String({ "x-text": "line", description: "where it is kept: Safe B, Berlin office" }),
  custodian: Type.String({ "x-text": "line", description: "who holds that place (the safe's keyholder)" }),
  battery_expires: Type.Optional(nullableText({ description: "YYYY-MM-DD, or null for none" })),
  review_by: Type.Optional(
    nullableText({ description: "YYYY-MM-DD: when someone must look at it next; or null" }),
  ),
  notes: Type.Optional(
    Type.String({
      "x-text": "lines",
      description: "free text, at most 4000 characters; lines break with \\n",
    }),
  ),
  access_rule: Type.Optional(
    nullableText({
      description:
        "a credential whose access rule governs check-out (readers, reason, approvals); null: admins and operators",
    }),
  ),
};

export const CreateDeviceBody = Type.Object(describingFields);
export type CreateDeviceBody = Static<typeof CreateDeviceBody>;

export const UpdateDeviceBody = Type.Partial(
  Type.Object({
    ...describingFields,
    status: Type.String({ maxLength: 32, description: "in-safe, lost or retired" }),
  }),
);
export type UpdateDeviceBody = Static<typeof UpdateDeviceBody>;

export const DeviceIdParams = Type.Object({
  id: Type.String({ maxLength: 64, "x-text": "line", description: "dev- and 12 hex digits" }),
});
export type DeviceIdParams = Static<typeof DeviceIdParams>;

export const DeviceListQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 32, description: DEVICE_STATUSES.join(", ") })),
  due_within: Type.Optional(
    Type.String({
      maxLength: 16,
      description: "only devices whose battery or review is due within 60d, 8w…; overdue ones too",
    }),
  ),
});
export type DeviceListQuery = Static<typeof DeviceListQuery>;

export const RetireQuery = Type.Object({
  reason: Type.Optional(Type.String({ description: "recorded; also X-Breakglass-Reason" })),
});
export type RetireQuery = Static<typeof RetireQuery>;

export const CheckoutBody = Type.Object({
  reason: Type.Optional(Type.String({ description: "required: why (recorded); also X-Breakglass-Reason" })),
  approval: Type.Optional(
    Type.String({ maxLength: 64, description: "an approved request under the access rule" }),
  ),
});
export type CheckoutBody = Static<typeof CheckoutBody>;

export const CheckinBody = Type.Object({
  reason: Type.Optional(Type.String({ description: "recorded" })),
});
export type CheckinBody = Static<typeof CheckinBody>;

/** The coverage report's window (coverage). */
export const CoverageQuery = Type.Object({
  due_within: Type.Optional(
    Type.String({
      maxLength: 16,
      description: "how far ahead a battery or review counts as due: 60d, 8w (default 30d)",
    }),
  ),
});
export type CoverageQuery = Static<typeof CoverageQuery>;
