import type { Kysely } from "kysely";
import { type Database, flag } from "./schema.js";
import type { NotificationStore, NotifySmtpRecord, NotifyWebhookRecord } from "./store.js";

/** Notification destinations, the same Kysely code on both engines. */
export class KyselyNotificationStore implements NotificationStore {
  constructor(private readonly db: Kysely<Database>) {}

  async listWebhooks(): Promise<NotifyWebhookRecord[]> {
    const rows = await this.db.selectFrom("notify_webhooks").selectAll().orderBy("name").execute();
    return rows.map((row) => ({
      name: row.name,
      url: row.url,
      events: JSON.parse(row.events),
      secretCiphertext: Buffer.from(row.secret_ciphertext, "base64"),
      keyVersion: row.key_version,
      updatedAt: row.updated_at,
    }));
  }

  async putWebhook(webhook: NotifyWebhookRecord): Promise<void> {
    const row = {
      name: webhook.name,
      url: webhook.url,
      events: JSON.stringify(webhook.events),
      secret_ciphertext: webhook.secretCiphertext.toString("base64"),
      key_version: webhook.keyVersion,
      updated_at: webhook.updatedAt,
    };
    await this.db
      .insertInto("notify_webhooks")
      .values(row)
      .onConflict((oc) => oc.column("name").doUpdateSet(row))
      .execute();
  }

  async deleteWebhook(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom("notify_webhooks").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async readSmtp(): Promise<NotifySmtpRecord | null> {
    const row = await this.db.selectFrom("notify_smtp").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!row) return null;
    return {
      host: row.host,
      port: row.port,
      secure: row.secure === 1,
      from: row.from_address,
      to: JSON.parse(row.to_addresses),
      username: row.username,
      events: JSON.parse(row.events),
      passwordCiphertext:
        row.password_ciphertext === null ? null : Buffer.from(row.password_ciphertext, "base64"),
      keyVersion: row.key_version,
      updatedAt: row.updated_at,
    };
  }

  async putSmtp(smtp: NotifySmtpRecord): Promise<void> {
    const row = {
      id: 1,
      host: smtp.host,
      port: smtp.port,
      secure: flag(smtp.secure),
      from_address: smtp.from,
      to_addresses: JSON.stringify(smtp.to),
      username: smtp.username,
      events: JSON.stringify(smtp.events),
      password_ciphertext: smtp.passwordCiphertext?.toString("base64") ?? null,
      key_version: smtp.keyVersion,
      updated_at: smtp.updatedAt,
    };
    await this.db
      .insertInto("notify_smtp")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet(row))
      .execute();
  }

  async deleteSmtp(): Promise<boolean> {
    const result = await this.db.deleteFrom("notify_smtp").where("id", "=", 1).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
