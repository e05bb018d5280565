export interface NotificationStore {
  listWebhooks(): Promise<NotifyWebhookRecord[]>;
  /** Creates or replaces a webhook. */
  putWebhook(webhook: NotifyWebhookRecord): Promise<void>;
  deleteWebhook(name: string): Promise<boolean>;
  readSmtp(): Promise<NotifySmtpRecord | null>;
  /** Creates or replaces the one mail server. */
  putSmtp(smtp: NotifySmtpRecord): Promise<void>;
  deleteSmtp(): Promise<boolean>;
}

/** Event types a destination gets: every one, or those listed. */
export type EventFilter = "*" | string[];

export interface NotifyWebhookRecord {
  name: string;
  url: string;
  events: EventFilter;
  secretCiphertext: Buffer;
  keyVersion: number;
  updatedAt: string;
}

export interface NotifySmtpRecord {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  to: string[];
  username: string | null;
  events: EventFilter;
  passwordCiphertext: Buffer | null;
  keyVersion: number | null;
  updatedAt: string;
}
