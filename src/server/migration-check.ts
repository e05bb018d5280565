import { createHash, type Hash } from "node:crypto";
import { Kysely, PostgresDialect, type Selectable, sql } from "kysely";
import pg from "pg";
import { type ChainReport, ChainVerifier } from "../core/audit-chain.js";
import { auditEntryFromRow } from "../store/kysely-audit.js";
import type { AuditEntryTable, Database } from "../store/schema.js";

/**
 * What proves a SQLite → PostgreSQL copy whole: the tables each database really has (its
 * catalogue, not a list in the code), and per table a row count and a SHA-256 over its rows in
 * primary key order, each value reduced to a form both engines give alike.
 */

export type Engine = "sqlite" | "postgres";
type Row = Record<string, unknown>;

/** Kysely's record of applied migrations: never copied (the target runs the same ones), compared by name. */
export const MIGRATION_BOOKKEEPING = ["kysely_migration", "kysely_migration_lock"] as const;

export interface TableDigest {
  rows: number;
  sha256: string;
}

export interface VaultState {
  /** The migrations applied, by name, in order. */
  schema: string[];
  digests: Record<string, TableDigest>;
  /** The audit chain as a server would verify it, when asked for. */
  chain: ChainReport | null;
}

export interface TableCheck {
  table: string;
  source_rows: number;
  target_rows: number;
  source_sha256: string;
  target_sha256: string;
  match: boolean;
}

const PAGE_ROWS = 1000;
const CONNECT_TIMEOUT_MS = 3000;
/** PostgreSQL's int8: read as a bigint, so every integer is exact on both sides of a comparison. */
const INT8_OID = 20;
const INTEGER_TYPE = /int/i;

/** Every table of the database with its columns' declared types, from the engine's own catalogue. */
export async function storedTables(
  db: Kysely<Database>,
  engine: Engine,
): Promise<Map<string, Map<string, string>>> {
  const query =
    engine === "sqlite"
      ? sql<{ table_name: string; column_name: string; data_type: string }>`
          select m.name as table_name, p.name as column_name, p.type as data_type
          from sqlite_master m join pragma_table_info(m.name) p
          where m.type = 'table' and m.name not like 'sqlite_%'`
      : sql<{ table_name: string; column_name: string; data_type: string }>`
          select c.table_name, c.column_name, c.data_type from information_schema.columns c
          join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
          where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'`;
  const tables = new Map<string, Map<string, string>>();
  for (const { table_name, column_name, data_type } of (await query.execute(db)).rows) {
    const columns = tables.get(table_name) ?? new Map<string, string>();
    columns.set(column_name, data_type.toLowerCase());
    tables.set(table_name, columns);
  }
  return tables;
}

/** Tables the catalogue has and the list lacks, and the other way round; Kysely's bookkeeping aside. */
export function tablesOutsideList(
  catalogue: Map<string, unknown>,
  list: readonly string[],
): { unknown: string[]; missing: string[] } {
  const present = [...catalogue.keys()].filter(
    (name) => !(MIGRATION_BOOKKEEPING as readonly string[]).includes(name),
  );
  return {
    unknown: present.filter((name) => !list.includes(name)).sort(),
    missing: list.filter((name) => !catalogue.has(name)),
  };
}

export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`select name from ${sql.table("kysely_migration")} order by name`.execute(db);
  return rows.map((row) => row.name);
}

/**
 * Reads every listed table once, in primary key order, into its digest; the audit chain is
 * verified on the way when `withChain`. Run inside one transaction, so the tables are of one moment.
 */
export async function readVaultState(
  db: Kysely<Database>,
  engine: Engine,
  keys: Record<string, string>,
  options: { withChain: boolean },
): Promise<VaultState> {
  const catalogue = await storedTables(db, engine);
  const digests: Record<string, TableDigest> = {};
  const verifier = options.withChain ? new ChainVerifier() : null;
  for (const [table, key] of Object.entries(keys)) {
    const columns = catalogue.get(table) ?? new Map<string, string>();
    const onRow =
      verifier && table === "audit_entries"
        ? (row: Row) => verifier.add(auditEntryFromRow(row as Selectable<AuditEntryTable>))
        : undefined;
    digests[table] = await digestTable(db, engine, table, key, columns, onRow);
  }
  return { schema: await appliedMigrations(db), digests, chain: verifier?.report() ?? null };
}

export async function digestTable(
  db: Kysely<Database>,
  engine: Engine,
  table: string,
  key: string,
  columns: Map<string, string>,
  onRow?: (row: Row) => void,
): Promise<TableDigest> {
  const hash = createHash("sha256");
  const names = [...columns.keys()].sort();
  // The columns first: a column one side lacks differs even in an empty table.
  frame(hash, "c", Buffer.from(names.join(","), "utf8"));
  // PostgreSQL orders text by the database's locale; "C" is byte order, as SQLite's.
  const byKey =
    engine === "postgres" && !INTEGER_TYPE.test(columns.get(key) ?? "") ? sql` collate "C"` : sql``;
  let rows = 0;
  let last: Row | undefined;
  for (;;) {
    const after = last === undefined ? sql`` : sql`where ${sql.ref(key)}${byKey} > ${last[key]}`;
    const page = (
      await sql<Row>`select * from ${sql.table(table)} ${after}
        order by ${sql.ref(key)}${byKey} limit ${PAGE_ROWS}`.execute(db)
    ).rows;
    for (const row of page) {
      hash.update("r");
      for (const name of names) frameValue(hash, row[name]);
      onRow?.(row);
    }
    rows += page.length;
    last = page.at(-1);
    if (page.length < PAGE_ROWS) break;
  }
  return { rows, sha256: hash.digest("hex") };
}

/**
 * One value, tagged with its kind and length-prefixed. Integers are decimal whatever the driver
 * gave (number, bigint, PostgreSQL's int8 text is parsed to bigint where these are read), booleans
 * are integers (SQLite has none), binary is its bytes, times are ISO-8601 text as the store writes
 * them. JSON is stored as text on both engines, so it is compared byte for byte.
 */
function frameValue(hash: Hash, value: unknown): void {
  frame(hash, ...normalised(value));
}

function normalised(value: unknown): [tag: string, bytes: Uint8Array] {
  if (value === null || value === undefined) return ["n", Buffer.alloc(0)];
  if (typeof value === "boolean") return ["i", Buffer.from(value ? "1" : "0")];
  if (typeof value === "bigint") return ["i", Buffer.from(value.toString())];
  if (typeof value === "number") return [Number.isInteger(value) ? "i" : "f", Buffer.from(String(value))];
  if (typeof value === "string") return ["t", Buffer.from(value, "utf8")];
  if (value instanceof Uint8Array) return ["b", value];
  if (value instanceof Date) return ["t", Buffer.from(value.toISOString())];
  return ["t", Buffer.from(JSON.stringify(value), "utf8")];
}

function frame(hash: Hash, tag: string, bytes: Uint8Array): void {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  hash.update(tag).update(length).update(bytes);
}

/** A read-only, repeatable-read transaction on the target: verifying writes nothing, not even a migration. */
export async function readPostgresSnapshot<T>(
  url: string,
  read: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types: {
      getTypeParser: (oid: number, format?: "text" | "binary") =>
        oid === INT8_OID && format !== "binary"
          ? (text: string) => BigInt(text)
          : pg.types.getTypeParser(oid, format),
    },
  });
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    return await db
      .transaction()
      .setIsolationLevel("repeatable read")
      .setAccessMode("read only")
      .execute(read);
  } finally {
    await db.destroy();
  }
}

export function compareDigests(
  source: Record<string, TableDigest>,
  target: Record<string, TableDigest>,
): TableCheck[] {
  return Object.entries(source).map(([table, ours]) => {
    const theirs = target[table] ?? { rows: 0, sha256: "" };
    return {
      table,
      source_rows: ours.rows,
      target_rows: theirs.rows,
      source_sha256: ours.sha256,
      target_sha256: theirs.sha256,
      match: ours.rows === theirs.rows && ours.sha256 === theirs.sha256,
    };
  });
}

/** "access_rules (content), audit_entries (40 rows, the target 38)": what differs, in a few words. */
export function describeDifferences(checks: TableCheck[]): string | null {
  const differing = checks.filter((check) => !check.match);
  if (differing.length === 0) return null;
  return differing
    .map((check) =>
      check.source_rows === check.target_rows
        ? `${check.table} (content)`
        : `${check.table} (${rowCount(check.source_rows)}, the target ${check.target_rows})`,
    )
    .join(", ");
}

export function rowCount(rows: number): string {
  return `${rows} ${rows === 1 ? "row" : "rows"}`;
}
