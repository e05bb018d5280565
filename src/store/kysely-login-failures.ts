import { type Kysely, sql } from "kysely";
import type { Database } from "./schema.js";
import type { LoginFailureStore } from "./store.js";

/** Login attempts counted per subject (`user:NAME`, `addr:ADDRESS`), on either engine. */
export function kyselyLoginFailures(db: Kysely<Database>): LoginFailureStore {
  return {
    async readLoginFailures(subject) {
      const row = await db
        .selectFrom("login_failures")
        .select(["failures", "last_attempt_at"])
        .where("subject", "=", subject)
        .executeTakeFirst();
      return row ? { failures: row.failures, lastAttemptAt: row.last_attempt_at } : null;
    },

    async countLoginAttempt(subject, at, restartRun) {
      // SET expressions read the row as it was, so the one statement both counts and hands back the
      // previous attempt's time; concurrent attempts are serialised on the row, each with its count.
      const restart = restartRun
        ? sql<boolean>`login_failures.first_attempt_at < ${restartRun.startedBefore}
          and login_failures.last_attempt_at < ${restartRun.quietSince}`
        : sql<boolean>`false`;
      const row = await db
        .insertInto("login_failures")
        .values({
          subject,
          failures: 1,
          first_attempt_at: at,
          last_attempt_at: at,
          previous_attempt_at: null,
        })
        .onConflict((oc) =>
          oc.column("subject").doUpdateSet({
            failures: sql<number>`case when ${restart} then 1 else login_failures.failures + 1 end`,
            first_attempt_at: sql<string>`case when ${restart} then ${at} else login_failures.first_attempt_at end`,
            previous_attempt_at: sql<string | null>`login_failures.last_attempt_at`,
            last_attempt_at: at,
          }),
        )
        .returning(["failures", "previous_attempt_at"])
        .executeTakeFirstOrThrow();
      return { failures: row.failures, previousAttemptAt: row.previous_attempt_at };
    },

    async uncountLoginAttempt(subject, at) {
      // The lock goes back to the one before this attempt, unless a later attempt has left its own.
      const lastBeforeThis = sql<string | null>`case when last_attempt_at = ${at}
      then previous_attempt_at else last_attempt_at end`;
      await db
        .updateTable("login_failures")
        .set({ failures: sql<number>`failures - 1`, last_attempt_at: lastBeforeThis })
        .where("subject", "=", subject)
        .where("failures", ">", 0)
        .execute();
    },

    async clearLoginFailures(subject) {
      await db.deleteFrom("login_failures").where("subject", "=", subject).execute();
    },
  };
}
