import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { describe, expect, it } from "vitest";
import { digestTable, readPostgresSnapshot, storedTables } from "../../src/server/migration-check.js";
import type { Database } from "../../src/store/schema.js";
import { newTestStorage, openRawDatabase, skipOutsidePostgresPass } from "../support/storage.js";

/**
 * The digests migrate sqlite-to-postgres compares: the same values stored by each engine, in its
 * own types, hash the same, and one value changed does not.
 */
const onPostgres = !skipOutsidePostgresPass("migration digests");

/** Over a page (1000 rows), keys whose order depends on collation: "B" < "a" in bytes, not in English. */
const ROWS = Array.from({ length: 1200 }, (_, i) => ({
  name: `${["a", "B", "_", "é", "Z"][i % 5]}${i}`,
  n: i % 7 === 0 ? null : i - 600,
  big: i === 1 ? 9007199254740993n : BigInt(i) * 1_000_003n,
  flag: i % 2 === 0,
  data: i % 3 === 0 ? null : Buffer.from([i % 256, 0, 255]),
  note: i % 11 === 0 ? "" : `note ${i} ✓`,
}));

async function digestOn(engine: "sqlite" | "postgres", tamper?: string) {
  const storage = await newTestStorage(engine);
  const raw = await openRawDatabase(storage);
  await raw.run(
    engine === "sqlite"
      ? "create table t (name text primary key, n integer, big bigint, flag integer, data blob, note text)"
      : 'create table t (name text collate "en-US-x-icu" primary key, n integer, big bigint, flag boolean, data bytea, note text)',
  );
  await raw.run(
    `insert into t (name, n, big, flag, data, note) values ${ROWS.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
    ROWS.flatMap((row) => [
      row.name,
      row.n,
      engine === "sqlite" ? row.big : row.big.toString(),
      engine === "sqlite" ? Number(row.flag) : row.flag,
      row.data,
      row.note,
    ]),
  );
  if (tamper) await raw.run(tamper);
  await raw.close();
  const read = async (db: Kysely<Database>) => {
    const columns = (await storedTables(db, engine)).get("t") ?? new Map();
    return digestTable(db, engine, "t", "name", columns);
  };
  if (storage.engine === "postgres") return readPostgresSnapshot(storage.databaseUrl, read);
  const file = new SQLite(join(storage.dataDir, "breakglass.sqlite"), { readonly: true });
  file.defaultSafeIntegers(true); // as the migration reads its source
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
  try {
    return await read(db);
  } finally {
    await db.destroy();
  }
}

describe.skipIf(!onPostgres)("the table digests of migrate sqlite-to-postgres", () => {
  it("are the same for the same rows on SQLite and PostgreSQL: integers past 2^53, booleans as 0/1, bytes, null, text under another collation", async () => {
    untouched = await digestOn("sqlite");
    expect(untouched.rows).toBe(ROWS.length);
    expect(await digestOn("postgres")).toEqual(untouched);
  });

  let untouched: Awaited<ReturnType<typeof digestOn>>;

  it.each([
    ["a bigint one apart", "update t set big = big + 1 where name = 'B1'"],
    ["a boolean flipped", "update t set flag = not flag where name = 'a0'"],
    ["one byte changed", "update t set data = '\\x0a00fe'::bytea where name = 'é3'"],
    ["a null made empty text", "update t set note = null where name = 'a0'"],
  ])("differ for %s", async (_what, tamper) => {
    expect((await digestOn("postgres", tamper)).sha256).not.toBe(untouched.sha256);
  });
});
