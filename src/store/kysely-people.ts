import type { Kysely, Selectable } from "kysely";
import { type Database, flag, type GroupTable } from "./schema.js";
import type { GroupRecord, PeopleStore } from "./store.js";

/** People (userpass users) and groups, on either engine. */
export function kyselyPeople(db: Kysely<Database>): PeopleStore {
  return {
    async findUser(username) {
      const row = await db
        .selectFrom("users")
        .selectAll()
        .where("username", "=", username)
        .executeTakeFirst();
      if (!row) return null;
      return {
        username: row.username,
        passwordHash: row.password_hash,
        policies: JSON.parse(row.policies),
        displayName: row.display_name,
        email: row.email,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        mfaState: row.mfa_state ?? "none",
        requireMfa: row.require_mfa === 1,
        disabled: row.disabled === 1,
        sso: row.sso === 1,
      };
    },

    async putUser(user) {
      const row = {
        username: user.username,
        password_hash: user.passwordHash,
        policies: JSON.stringify(user.policies),
        display_name: user.displayName,
        email: user.email,
        created_at: user.createdAt,
        updated_at: user.updatedAt,
        require_mfa: flag(user.requireMfa),
        disabled: flag(user.disabled),
        sso: flag(user.sso),
      };
      // An existing person's mfa_state is the second factor's (KyselySecondFactorStore): never overwritten here.
      await db
        .insertInto("users")
        .values({ ...row, mfa_state: user.mfaState })
        .onConflict((oc) => oc.column("username").doUpdateSet(row))
        .execute();
    },

    deleteUser(username) {
      return db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom("users").where("username", "=", username).executeTakeFirst();
        await trx.deleteFrom("second_factors").where("username", "=", username).execute();
        // A new person of the same name is not the provider account the old one was.
        await trx.deleteFrom("oidc_identities").where("username", "=", username).execute();
        await trx.deleteFrom("passkeys").where("username", "=", username).execute();
        return Number(result.numDeletedRows) === 1;
      });
    },

    async listUsernames() {
      const rows = await db.selectFrom("users").select("username").orderBy("username").execute();
      return rows.map((r) => r.username);
    },

    async findGroup(name) {
      const row = await db.selectFrom("groups").selectAll().where("name", "=", name).executeTakeFirst();
      return row ? groupFromRow(row) : null;
    },

    async putGroup(group) {
      const row = {
        name: group.name,
        members: JSON.stringify(group.members),
        policies: JSON.stringify(group.policies),
        updated_at: group.updatedAt,
      };
      await db
        .insertInto("groups")
        .values(row)
        .onConflict((oc) => oc.column("name").doUpdateSet(row))
        .execute();
    },

    async deleteGroup(name) {
      const result = await db.deleteFrom("groups").where("name", "=", name).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async listGroups() {
      return (await db.selectFrom("groups").selectAll().orderBy("name").execute()).map(groupFromRow);
    },
  };
}

function groupFromRow(row: Selectable<GroupTable>): GroupRecord {
  return {
    name: row.name,
    members: JSON.parse(row.members),
    policies: JSON.parse(row.policies),
    updatedAt: row.updated_at,
  };
}
