import type { Kysely } from "kysely";
import { type Database, flag } from "./schema.js";
import type { DeadLetterRecord, DeliveryStore } from "./store.js";

/** Outbox events deleted per transaction when pruning: the write lock is let go between chunks. */
const PRUNE_CHUNK = 1_000;

/** Delivery state on either engine: every claim is one conditional statement, so two nodes never both win. */
export class KyselyDeliveryStore implements DeliveryStore {
  constructor(private readonly db: Kysely<Database>) {}

  async claimLease(name: string, holder: string, nowMs: number, untilMs: number): Promise<boolean> {
    const taken = await this.db
      .updateTable("leases")
      .set({ holder, until_ms: untilMs })
      .where("name", "=", name)
      .where((eb) => eb.or([eb("holder", "=", holder), eb("until_ms", "<", nowMs)]))
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) return true;
    const inserted = await this.db
      .insertInto("leases")
      .values({ name, holder, until_ms: untilMs })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute();
  }

  leases() {
    return this.db.selectFrom("leases").select(["name", "holder"]).orderBy("name").execute();
  }

  async position(destination: string, start: number): Promise<number> {
    await this.db
      .insertInto("delivery_cursors")
      .values({ destination, position: start })
      .onConflict((oc) => oc.column("destination").doNothing())
      .execute();
    const row = await this.db
      .selectFrom("delivery_cursors")
      .select("position")
      .where("destination", "=", destination)
      .executeTakeFirstOrThrow();
    return Number(row.position);
  }

  async advance(destination: string, position: number, lease: string, holder: string): Promise<boolean> {
    const result = await this.db
      .updateTable("delivery_cursors")
      .set({ position })
      .where("destination", "=", destination)
      // Forward only: a send that finished after its worker was replaced cannot move it back.
      .where("position", "<=", position)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("leases")
            .select("leases.name")
            .where("leases.name", "=", lease)
            .where("leases.holder", "=", holder),
        ),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async rewind(destination: string, position: number): Promise<void> {
    await this.db
      .updateTable("delivery_cursors")
      .set({ position })
      .where("destination", "=", destination)
      .execute();
  }

  async forget(destination: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("delivery_cursors").where("destination", "=", destination).execute();
      await trx.deleteFrom("dead_letters").where("destination", "=", destination).execute();
    });
  }

  async positions() {
    const rows = await this.db.selectFrom("delivery_cursors").selectAll().orderBy("destination").execute();
    return rows.map((row) => ({ destination: row.destination, position: Number(row.position) }));
  }

  async outboxAfter(seq: number, limit: number) {
    const rows = await this.db
      .selectFrom("notification_outbox")
      .selectAll()
      .where("seq", ">", seq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map((row) => ({ seq: Number(row.seq), time: row.time, event: row.event }));
  }

  async outboxHead(): Promise<number> {
    const row = await this.db
      .selectFrom("notification_outbox")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  async backlog(source: "outbox" | "audit", seq: number) {
    const table = source === "outbox" ? "notification_outbox" : "audit_entries";
    const row = await this.db
      .selectFrom(table)
      .select((eb) => [eb.fn.countAll().as("count"), eb.fn.min("time").as("oldest")])
      .where("seq", ">", seq)
      .executeTakeFirst();
    return { count: Number(row?.count ?? 0), oldest: (row?.oldest as string | null | undefined) ?? null };
  }

  async pruneOutbox(seq: number): Promise<void> {
    for (;;) {
      const oldest = this.db
        .selectFrom("notification_outbox")
        .select("seq")
        .where("seq", "<=", seq)
        .orderBy("seq")
        .limit(PRUNE_CHUNK);
      const { numDeletedRows } = await this.db
        .deleteFrom("notification_outbox")
        .where("seq", "in", oldest)
        .executeTakeFirst();
      if (numDeletedRows < BigInt(PRUNE_CHUNK)) return;
    }
  }

  async putDeadLetters(letters: DeadLetterRecord[]): Promise<void> {
    for (const letter of letters) {
      const row = {
        letter: `${letter.destination}/${letter.seq}`,
        destination: letter.destination,
        seq: letter.seq,
        payload: letter.payload,
        summary: letter.summary,
        error: letter.error,
        attempts: letter.attempts,
        dead_at: letter.deadAt,
        redrive: flag(letter.redrive),
      };
      await this.db
        .insertInto("dead_letters")
        .values(row)
        .onConflict((oc) => oc.column("letter").doUpdateSet(row))
        .execute();
    }
  }

  async deadLetters(): Promise<DeadLetterRecord[]> {
    const rows = await this.db
      .selectFrom("dead_letters")
      .selectAll()
      .orderBy("destination")
      .orderBy("seq")
      .execute();
    return rows.map(letterOf);
  }

  async markRedrive(destinations: string[], seq?: number): Promise<number> {
    if (destinations.length === 0) return 0;
    let query = this.db
      .updateTable("dead_letters")
      .set({ redrive: 1 })
      .where("destination", "in", destinations)
      .where("redrive", "=", 0);
    if (seq !== undefined) query = query.where("seq", "=", seq);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async redriveDue(destination: string, limit: number): Promise<DeadLetterRecord[]> {
    const rows = await this.db
      .selectFrom("dead_letters")
      .selectAll()
      .where("destination", "=", destination)
      .where("redrive", "=", 1)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map(letterOf);
  }

  async deleteDeadLetter(destination: string, seq: number): Promise<void> {
    await this.db
      .deleteFrom("dead_letters")
      .where("destination", "=", destination)
      .where("seq", "=", seq)
      .execute();
  }

  async readNotice(name: string) {
    const row = await this.db
      .selectFrom("cluster_notices")
      .select(["value", "at"])
      .where("name", "=", name)
      .executeTakeFirst();
    return row ?? null;
  }

  async writeNotice(name: string, value: string, at: string): Promise<void> {
    await this.db
      .insertInto("cluster_notices")
      .values({ name, value, at })
      .onConflict((oc) => oc.column("name").doUpdateSet({ value, at }))
      .execute();
  }
}

function letterOf(row: Database["dead_letters"]): DeadLetterRecord {
  return {
    destination: row.destination,
    seq: Number(row.seq),
    payload: row.payload,
    summary: row.summary,
    error: row.error,
    attempts: row.attempts,
    deadAt: row.dead_at,
    redrive: row.redrive === 1,
  };
}

/** The outbox rows written with a batch of audit entries (same transaction): `events[i]` belongs to `entries[i]`. */
export function outboxRows(
  entries: readonly { seq: number; time: string }[],
  events: readonly (string | null)[],
): Database["notification_outbox"][] {
  const rows: Database["notification_outbox"][] = [];
  entries.forEach((entry, i) => {
    const event = events[i];
    if (event != null) rows.push({ seq: entry.seq, time: entry.time, event });
  });
  return rows;
}
