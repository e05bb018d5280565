import { type Static, Type } from "typebox";

/**
 * Deliveries of notifications (notify/…) and audit sinks (sys/audit/…): what waits, what was
 * given up on (dead letters), and redriving it. docs/notifications.md, docs/audit-sinks.md.
 */

export const RedriveBody = Type.Object({
  destination: Type.Optional(
    Type.String({
      maxLength: 1024,
      description: "only this destination's letters (webhook:NAME, smtp, sink:…)",
    }),
  ),
  seq: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: "only the letter of this seq",
    }),
  ),
});
export type RedriveBody = Static<typeof RedriveBody>;

export const RedriveAnswer = Type.Object({
  data: Type.Object({ redriven: Type.Integer({ description: "letters marked to be sent again" }) }),
});
export type RedriveAnswer = Static<typeof RedriveAnswer>;

const DestinationState = Type.Object({
  destination: Type.String(),
  position: Type.Integer({ description: "the last seq delivered or given up on" }),
  backlog: Type.Integer({ description: "items waiting in the store" }),
  oldest_seconds: Type.Union([Type.Number(), Type.Null()], { description: "age of the oldest waiting item" }),
  failing: Type.Boolean({ description: "this node's last attempt failed" }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  dead_letters: Type.Integer(),
});

export const DeliveriesAnswer = Type.Object({
  data: Type.Object({ destinations: Type.Array(DestinationState) }),
});
export type DeliveriesAnswer = Static<typeof DeliveriesAnswer>;

const DeadLetter = Type.Object({
  destination: Type.String(),
  seq: Type.Integer({ description: "the audit entry's seq: the event's id" }),
  summary: Type.String(),
  error: Type.String({ description: "the last attempt's error" }),
  attempts: Type.Integer(),
  dead_at: Type.String(),
  redrive: Type.Boolean({ description: "asked to be sent again, not yet delivered" }),
});

export const DeadLettersAnswer = Type.Object({
  data: Type.Object({ dead_letters: Type.Array(DeadLetter) }),
});
export type DeadLettersAnswer = Static<typeof DeadLettersAnswer>;
