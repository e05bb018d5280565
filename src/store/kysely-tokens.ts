import { type Kysely, type Selectable, sql } from "kysely";
import { type Database, flag, type TokenTable } from "./schema.js";
import type { TokenRecord, TokenStore } from "./store.js";

/** A token line is never deeper than this; a longer one (a loop edited into the table) ends here. */
const MAX_LINE_DEPTH = 32;

/** API tokens and their tree (each token's parent), on either engine. */
export class KyselyTokenStore implements TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(token: TokenRecord): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values({
        token_hmac: token.tokenHmac,
        accessor: token.accessor,
        display_name: token.displayName,
        policies: JSON.stringify(token.policies),
        meta: JSON.stringify(token.meta),
        parent_accessor: token.parentAccessor,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        username: token.username,
        owner: token.owner,
        path: token.path,
        creation_ttl: token.creationTtl,
        explicit_max_ttl: token.explicitMaxTtl,
        renewable: flag(token.renewable),
        last_renewal_at: token.lastRenewalAt,
      })
      .execute();
  }

  async findLine(tokenHmac: string): Promise<TokenRecord[]> {
    // One round trip: the token, then each parent up the tree (SQLite and PostgreSQL alike).
    const { rows } = await sql<Selectable<TokenTable> & { depth: number }>`
      with recursive line as (
        select tokens.*, 0 as depth from tokens where token_hmac = ${tokenHmac}
        union all
        select parent.*, line.depth + 1 from tokens parent
          join line on parent.accessor = line.parent_accessor
          where line.depth < ${MAX_LINE_DEPTH}
      )
      select * from line order by depth`.execute(this.db);
    return rows.map(tokenFromRow);
  }

  async findByAccessor(accessor: string): Promise<TokenRecord | null> {
    const row = await this.db
      .selectFrom("tokens")
      .selectAll()
      .where("accessor", "=", accessor)
      .executeTakeFirst();
    return row ? tokenFromRow(row) : null;
  }

  async listAccessors(now: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("tokens")
      .select("accessor")
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .orderBy("accessor")
      .execute();
    return rows.map((row) => row.accessor);
  }

  revokeTree(accessor: string): Promise<string[]> {
    return this.revokeTreesOf(sql`select accessor from tokens where accessor = ${accessor}`);
  }

  revokeOwnedBy(owner: string): Promise<string[]> {
    return this.revokeTreesOf(sql`select accessor from tokens where owner = ${owner}`);
  }

  revokeOrphan(accessor: string): Promise<number | null> {
    // One transaction: a child is never left naming a parent that is gone (it would be refused).
    return this.db.transaction().execute(async (trx) => {
      const orphaned = await trx
        .updateTable("tokens")
        .set({ parent_accessor: null })
        .where("parent_accessor", "=", accessor)
        .executeTakeFirst();
      const deleted = await trx.deleteFrom("tokens").where("accessor", "=", accessor).executeTakeFirst();
      return deleted.numDeletedRows > 0n ? Number(orphaned.numUpdatedRows) : null;
    });
  }

  async renew(accessor: string, expiresAt: string, renewedAt: string): Promise<boolean> {
    const updated = await this.db
      .updateTable("tokens")
      .set({ expires_at: expiresAt, last_renewal_at: renewedAt })
      .where("accessor", "=", accessor)
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  }

  /** Deletes the tokens `roots` selects and every token below them, in one statement. */
  private async revokeTreesOf(roots: ReturnType<typeof sql>): Promise<string[]> {
    const { rows } = await sql<{ accessor: string }>`
      with recursive tree(accessor, depth) as (
        select accessor, 0 from (${roots}) as roots
        union
        select child.accessor, tree.depth + 1 from tokens child
          join tree on child.parent_accessor = tree.accessor
          where tree.depth < ${MAX_LINE_DEPTH}
      )
      delete from tokens where accessor in (select accessor from tree) returning accessor`.execute(this.db);
    return rows.map((row) => row.accessor).sort();
  }
}

function tokenFromRow(row: Selectable<TokenTable>): TokenRecord {
  return {
    tokenHmac: row.token_hmac,
    accessor: row.accessor,
    displayName: row.display_name,
    policies: JSON.parse(row.policies),
    meta: JSON.parse(row.meta),
    parentAccessor: row.parent_accessor,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    username: row.username,
    owner: row.owner,
    path: row.path,
    creationTtl: row.creation_ttl,
    explicitMaxTtl: row.explicit_max_ttl,
    renewable: row.renewable === 1,
    lastRenewalAt: row.last_renewal_at,
  };
}
