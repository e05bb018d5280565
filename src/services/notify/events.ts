/** What happened, for the people who must know: sent to webhooks and by e-mail from the outbox (services/delivery). */
export type NotificationEventType =
  | "code.read"
  | "approval.requested"
  | "approval.decided"
  | "seal"
  | "unseal"
  | "login.locked"
  | "passkeys.reset"
  | "custody"
  | "root.generated"
  | "seed.exported"
  | "device.checkout"
  | "device.reminder";

export const NOTIFICATION_EVENT_TYPES: readonly NotificationEventType[] = [
  "code.read",
  "approval.requested",
  "approval.decided",
  "seal",
  "unseal",
  "login.locked",
  "passkeys.reset",
  "custody",
  "root.generated",
  "seed.exported",
  "device.checkout",
  "device.reminder",
];

export interface NotificationEvent {
  type: NotificationEventType;
  time: string;
  /** Who did it: `user:alice`, `token:ACCESSOR`, `anonymous`. */
  actor: string;
  /** The credential concerned, if any. */
  key?: string;
  reason?: string | null;
  approvalId?: string;
  decision?: "approved" | "denied";
  approvers?: string[];
  /** One human sentence (Slack's `text`, the e-mail subject and body). */
  text: string;
  /** E-mail addresses that must get this one in particular (the approvers of a request). */
  emailTo?: string[];
  /**
   * Channels a credential's access rule names for its events (`webhook:NAME`, `email`): they get
   * the event even when their own event filter leaves it out.
   */
  channels?: string[];
  /** The audit entry's request id, to find it in the log. */
  requestId?: string;
  /** The seq of the audit entry that records it: its id, by which receivers deduplicate. */
  seq?: number;
}

/**
 * What a service tells with an audit entry (AuditRecord.notify): stored in the same transaction
 * as the entry, which gives it its time, request id and seq.
 */
export type EventNotice = Omit<NotificationEvent, "time" | "requestId" | "seq">;
