import { describe, expect, it } from "vitest";
import { MIGRATED_TABLES } from "../../src/server/migrate-sqlite-to-postgres.js";
import { MIGRATION_BOOKKEEPING } from "../../src/server/migration-check.js";
import { openPostgresStore } from "../../src/store/postgres.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import {
  type Engine,
  newTestStorage,
  openRawDatabase,
  openTestStore,
  skipOutsidePostgresPass,
} from "../support/storage.js";

/** One migration set gives the same schema on both engines: same tables, columns, types and nullability. */
const onPostgres = !skipOutsidePostgresPass("schema comparison");

type Column = { table: string; column: string; type: string; nullable: boolean };

describe.skipIf(!onPostgres)("the migrations", () => {
  it("produce the same schema on SQLite and PostgreSQL", async () => {
    const sqliteStorage = await newTestStorage("sqlite");
    const postgresStorage = await newTestStorage("postgres");
    if (sqliteStorage.engine !== "sqlite" || postgresStorage.engine !== "postgres")
      throw new Error("unexpected storage");
    await (await openSqliteStore(sqliteStorage.dataDir)).close();
    await (await openPostgresStore(postgresStorage.databaseUrl)).close();

    const sqlite = await openRawDatabase(sqliteStorage);
    const tables = (
      await sqlite.rows<{ name: string }>(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name",
      )
    ).map((t) => t.name);
    const sqliteColumns: Column[] = [];
    for (const table of tables) {
      const info = await sqlite.rows<{ name: string; type: string; notnull: number; pk: number }>(
        `pragma table_info(${table})`,
      );
      for (const c of info)
        sqliteColumns.push({
          table,
          column: c.name,
          type: c.type.toLowerCase(),
          nullable: c.notnull === 0 && c.pk === 0,
        });
    }
    await sqlite.close();

    const postgres = await openRawDatabase(postgresStorage);
    const postgresColumns = (
      await postgres.rows<{
        table_name: string;
        column_name: string;
        data_type: string;
        is_nullable: string;
      }>(
        "select table_name, column_name, data_type, is_nullable from information_schema.columns where table_schema = 'public' and table_name not like 'kysely_%' order by table_name, ordinal_position",
      )
    ).map((c) => ({
      table: c.table_name,
      column: c.column_name,
      type: c.data_type,
      nullable: c.is_nullable === "YES",
    }));
    await postgres.close();

    expect(tables).toEqual(
      expect.arrayContaining(["audit_entries", "seal_config", "tokens", "totp_keys", "users", "approvals"]),
    );
    expect([...new Set(postgresColumns.map((c) => c.table))].sort()).toEqual(tables);
    expect(postgresColumns).toEqual(sqliteColumns);
  });
});

/** The tables a freshly migrated database really has, from the engine's own catalogue. */
async function catalogueTables(engine: Engine): Promise<string[]> {
  const storage = await newTestStorage(engine);
  const store = await openTestStore(storage);
  await store.close();
  const db = await openRawDatabase(storage);
  try {
    const rows = await db.rows<{ name: string }>(
      engine === "sqlite"
        ? "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
        : "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
    );
    return rows.map((row) => row.name).sort();
  } finally {
    await db.close();
  }
}

/** A table added by a migration and not to the copy would be left behind on PostgreSQL: this fails first. */
describe("migrate sqlite-to-postgres", () => {
  const everyTable = [...MIGRATED_TABLES, ...MIGRATION_BOOKKEEPING].sort();

  it("copies every table the migrations create on SQLite (sqlite_master), Kysely's bookkeeping aside", async () => {
    expect(await catalogueTables("sqlite")).toEqual(everyTable);
  });

  it.skipIf(!onPostgres)(
    "copies every table the migrations create on PostgreSQL (information_schema), Kysely's bookkeeping aside",
    async () => {
      expect(await catalogueTables("postgres")).toEqual(everyTable);
    },
  );
});
