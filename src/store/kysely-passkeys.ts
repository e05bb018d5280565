import type { Kysely, Selectable } from "kysely";
import { type Database, flag, type PasskeyChallengeTable, type PasskeyTable } from "./schema.js";
import type { PasskeyChallengeRecord, PasskeyRecord, PasskeyStore } from "./store.js";

/** Passkeys and their challenges, on either engine. */
export class KyselyPasskeyStore implements PasskeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(username: string): Promise<PasskeyRecord[]> {
    const rows = await this.db
      .selectFrom("passkeys")
      .selectAll()
      .where("username", "=", username)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(passkeyOf);
  }

  async find(id: string): Promise<PasskeyRecord | null> {
    const row = await this.db.selectFrom("passkeys").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? passkeyOf(row) : null;
  }

  async insert(passkey: PasskeyRecord): Promise<boolean> {
    const result = await this.db
      .insertInto("passkeys")
      .values(rowOf(passkey))
      .onConflict((oc) => oc.column("id").doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async rename(username: string, id: string, name: string): Promise<boolean> {
    const result = await this.db
      .updateTable("passkeys")
      .set({ name })
      .where("id", "=", id)
      .where("username", "=", username)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(username: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom("passkeys")
      .where("id", "=", id)
      .where("username", "=", username)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async removeAll(username: string): Promise<string[]> {
    const rows = await this.db
      .deleteFrom("passkeys")
      .where("username", "=", username)
      .returning("id")
      .execute();
    return rows.map((row) => row.id).sort();
  }

  async recordUse(id: string, counter: number, at: string): Promise<void> {
    await this.db.updateTable("passkeys").set({ counter, last_used_at: at }).where("id", "=", id).execute();
  }

  async saveChallenge(challenge: PasskeyChallengeRecord, now: string): Promise<void> {
    await this.db.deleteFrom("passkey_challenges").where("expires_at", "<", now).execute();
    await this.db
      .insertInto("passkey_challenges")
      .values({
        challenge: challenge.challenge,
        username: challenge.username,
        purpose: challenge.purpose,
        binding: challenge.binding,
        created_at: challenge.createdAt,
        expires_at: challenge.expiresAt,
      })
      .execute();
  }

  async takeChallenge(challenge: string): Promise<PasskeyChallengeRecord | null> {
    // One statement: of two nodes taking the same challenge at once, only one gets the row.
    const row = await this.db
      .deleteFrom("passkey_challenges")
      .where("challenge", "=", challenge)
      .returningAll()
      .executeTakeFirst();
    return row ? challengeOf(row) : null;
  }
}

function rowOf(passkey: PasskeyRecord): PasskeyTable {
  return {
    id: passkey.id,
    username: passkey.username,
    name: passkey.name,
    public_key: passkey.publicKey,
    counter: passkey.counter,
    transports: JSON.stringify(passkey.transports),
    device_type: passkey.deviceType,
    backed_up: flag(passkey.backedUp),
    created_at: passkey.createdAt,
    last_used_at: passkey.lastUsedAt,
  };
}

function passkeyOf(row: Selectable<PasskeyTable>): PasskeyRecord {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    publicKey: row.public_key,
    counter: row.counter,
    transports: JSON.parse(row.transports),
    deviceType: row.device_type,
    backedUp: row.backed_up === 1,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

function challengeOf(row: Selectable<PasskeyChallengeTable>): PasskeyChallengeRecord {
  return {
    challenge: row.challenge,
    username: row.username,
    purpose: row.purpose,
    binding: row.binding,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
