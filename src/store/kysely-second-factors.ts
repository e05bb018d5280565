import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, SecondFactorTable } from "./schema.js";
import type { SecondFactorRecord, SecondFactorStore } from "./store.js";

/** A transaction undone on purpose: its first write went through, its second found the row changed. */
const ROLLED_BACK = Symbol("rolled back");

/**
 * Every change touches users.mfa_state first and the factor second, in one transaction: on
 * PostgreSQL the person's row lock orders concurrent changes (no deadlock between two orders).
 */
export class KyselySecondFactorStore implements SecondFactorStore {
  constructor(private readonly db: Kysely<Database>) {}

  async find(username: string): Promise<SecondFactorRecord | null> {
    const row = await this.db
      .selectFrom("second_factors")
      .selectAll()
      .where("username", "=", username)
      .executeTakeFirst();
    return row ? factorOf(row) : null;
  }

  begin(factor: SecondFactorRecord): Promise<boolean> {
    return this.allOrNothing(async (trx) => {
      const marked = await trx
        .updateTable("users")
        .set({ mfa_state: "pending" })
        .where("username", "=", factor.username)
        .where((eb) => eb.or([eb("mfa_state", "is", null), eb("mfa_state", "!=", "enabled")]))
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) !== 1) return false;
      await trx.deleteFrom("second_factors").where("username", "=", factor.username).execute();
      await trx.insertInto("second_factors").values(rowOf(factor)).execute();
      return true;
    });
  }

  enable(pending: SecondFactorRecord, step: number, time: string): Promise<boolean> {
    return this.allOrNothing(async (trx) => {
      const marked = await trx
        .updateTable("users")
        .set({ mfa_state: "enabled" })
        .where("username", "=", pending.username)
        .where("mfa_state", "=", "pending")
        .executeTakeFirst();
      if (Number(marked.numUpdatedRows) !== 1) return false;
      const enabled = await trx
        .updateTable("second_factors")
        .set({ state: "enabled", last_accepted_step: step, enabled_at: time })
        .where("username", "=", pending.username)
        .where("state", "=", "pending")
        .where("seed_ciphertext", "=", pending.seedCiphertext.toString("base64"))
        .executeTakeFirst();
      return Number(enabled.numUpdatedRows) === 1 || ROLLED_BACK;
    });
  }

  async acceptStep(username: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable("second_factors")
      .set({ last_accepted_step: step })
      .where("username", "=", username)
      .where("state", "=", "enabled")
      .where((eb) => eb.or([eb("last_accepted_step", "is", null), eb("last_accepted_step", "<", step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(username: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable("users").set({ mfa_state: "none" }).where("username", "=", username).execute();
      await trx.deleteFrom("second_factors").where("username", "=", username).execute();
    });
  }

  /** Runs `change` in a transaction; ROLLED_BACK undoes its writes and answers false. */
  private async allOrNothing(
    change: (trx: Transaction<Database>) => Promise<boolean | typeof ROLLED_BACK>,
  ): Promise<boolean> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const outcome = await change(trx);
        if (outcome === ROLLED_BACK) throw ROLLED_BACK;
        return outcome;
      });
    } catch (error) {
      if (error === ROLLED_BACK) return false;
      throw error;
    }
  }
}

function rowOf(factor: SecondFactorRecord): SecondFactorTable {
  return {
    username: factor.username,
    seed_ciphertext: factor.seedCiphertext.toString("base64"),
    key_version: factor.keyVersion,
    sealed_as: factor.sealedAs,
    algorithm: factor.algorithm,
    digits: factor.digits,
    period: factor.period,
    skew: factor.skew,
    state: factor.state,
    last_accepted_step: factor.lastAcceptedStep,
    created_at: factor.createdAt,
    enabled_at: factor.enabledAt,
  };
}

function factorOf(row: Selectable<SecondFactorTable>): SecondFactorRecord {
  return {
    username: row.username,
    seedCiphertext: Buffer.from(row.seed_ciphertext, "base64"),
    keyVersion: row.key_version,
    sealedAs: row.sealed_as,
    algorithm: row.algorithm,
    digits: row.digits,
    period: row.period,
    skew: row.skew,
    state: row.state,
    lastAcceptedStep: row.last_accepted_step,
    createdAt: row.created_at,
    enabledAt: row.enabled_at,
  };
}
