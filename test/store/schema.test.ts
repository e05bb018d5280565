import { describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import { newTestStorage, openRawDatabase, skipOutsidePostgresPass } from "../support/storage.js";

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
