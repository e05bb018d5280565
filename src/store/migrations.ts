// Over 400 lines: the migrations are one append-only history, read in order; a shipped one is never edited.
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from "kysely";

/**
 * Migrations, run at start. Portable column types only (text, integer, bigint), so one list
 * serves SQLite and PostgreSQL. Append new migrations; never edit one that has shipped.
 */
const migrations: Record<string, Migration> = {
  "0001-initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("seal_config")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("secret_shares", "integer", (c) => c.notNull())
        .addColumn("secret_threshold", "integer", (c) => c.notNull())
        .addColumn("keyring", "text", (c) => c.notNull())
        .addColumn("pgp_fingerprints", "text", (c) => c.notNull())
        .addColumn("cluster_id", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("totp_keys")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("issuer", "text", (c) => c.notNull())
        .addColumn("account_name", "text", (c) => c.notNull())
        .addColumn("algorithm", "text", (c) => c.notNull())
        .addColumn("digits", "integer", (c) => c.notNull())
        .addColumn("period", "integer", (c) => c.notNull())
        .addColumn("skew", "integer", (c) => c.notNull())
        .addColumn("seed_ciphertext", "text", (c) => c.notNull())
        .addColumn("key_version", "integer", (c) => c.notNull())
        .addColumn("generated", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addColumn("last_accepted_step", "bigint")
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("token_hmac", "text", (c) => c.primaryKey())
        .addColumn("accessor", "text", (c) => c.notNull().unique())
        .addColumn("display_name", "text", (c) => c.notNull())
        .addColumn("policies", "text", (c) => c.notNull())
        .addColumn("meta", "text", (c) => c.notNull())
        .addColumn("parent_accessor", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .execute();
      await db.schema
        .createTable("audit_entries")
        .addColumn("seq", "bigint", (c) => c.primaryKey())
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("target", "text")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("request_id", "text")
        .addColumn("remote_addr", "text")
        .addColumn("user_agent", "text")
        .addColumn("approval_ids", "text", (c) => c.notNull())
        .addColumn("details", "text", (c) => c.notNull())
        .addColumn("prev_hash", "text", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .execute();
      await sql`create index audit_entries_actor on audit_entries (actor)`.execute(db);
      await sql`create index audit_entries_target on audit_entries (target)`.execute(db);
    },
  },
  "0002-audit-trust": {
    async up(db: Kysely<unknown>) {
      // Public, so auditors can fetch it while the vault is sealed.
      await db.schema.alterTable("seal_config").addColumn("audit_public_key", "text").execute();
      await db.schema
        .createTable("audit_sinks")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("options", "text", (c) => c.notNull())
        .addColumn("required", "integer", (c) => c.notNull())
        .addColumn("secret_ciphertext", "text")
        .addColumn("key_version", "integer")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await sql`create index audit_entries_time on audit_entries (time)`.execute(db);
      await sql`create index audit_entries_action on audit_entries (action)`.execute(db);
      await sql`create index audit_entries_outcome on audit_entries (outcome)`.execute(db);
    },
  },
  "0003-people": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("users")
        .addColumn("username", "text", (c) => c.primaryKey())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("policies", "text", (c) => c.notNull())
        .addColumn("display_name", "text", (c) => c.notNull())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("groups")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("members", "text", (c) => c.notNull())
        .addColumn("policies", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      // Failed logins per user and per address, shared by every node.
      await db.schema
        .createTable("login_failures")
        .addColumn("subject", "text", (c) => c.primaryKey())
        .addColumn("failures", "integer", (c) => c.notNull())
        .addColumn("locked_until", "text")
        .execute();
      // The user a token was issued to at login, so deleting the user ends their tokens.
      await db.schema.alterTable("tokens").addColumn("username", "text").execute();
    },
  },
  "0004-notifications": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("notify_webhooks")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("events", "text", (c) => c.notNull())
        .addColumn("secret_ciphertext", "text", (c) => c.notNull())
        .addColumn("key_version", "integer", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      // One row (id 1): the team's mail server.
      await db.schema
        .createTable("notify_smtp")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("host", "text", (c) => c.notNull())
        .addColumn("port", "integer", (c) => c.notNull())
        .addColumn("secure", "integer", (c) => c.notNull())
        .addColumn("from_address", "text", (c) => c.notNull())
        .addColumn("to_addresses", "text", (c) => c.notNull())
        .addColumn("username", "text")
        .addColumn("events", "text", (c) => c.notNull())
        .addColumn("password_ciphertext", "text")
        .addColumn("key_version", "integer")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0005-approvals": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("access_rules")
        .addColumn("key_name", "text", (c) => c.primaryKey())
        .addColumn("readers", "text", (c) => c.notNull())
        .addColumn("approvers", "text", (c) => c.notNull())
        .addColumn("approvals_required", "integer", (c) => c.notNull())
        .addColumn("require_reason", "integer", (c) => c.notNull())
        .addColumn("approval_ttl_seconds", "integer", (c) => c.notNull())
        .addColumn("notify", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("approvals")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("key_name", "text", (c) => c.notNull())
        .addColumn("requester", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("approvals_required", "integer", (c) => c.notNull())
        .addColumn("votes", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text")
        .execute();
      await sql`create index approvals_status on approvals (status)`.execute(db);
    },
  },
  "0006-second-factor": {
    async up(db: Kysely<unknown>) {
      // none, pending (enrolled, not yet confirmed with a code) or enabled
      await db.schema.alterTable("users").addColumn("mfa_state", "text").execute();
      await db.schema.alterTable("users").addColumn("require_mfa", "integer").execute();
    },
  },
  "0007-custody": {
    async up(db: Kysely<unknown>) {
      // One row per share handed out: who holds it, and a hash that recognises it without combining.
      await db.schema
        .createTable("custodians")
        .addColumn("share_index", "integer", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("pgp_fingerprint", "text")
        .addColumn("share_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_verified", "text")
        .execute();
      // Set by a restore: the backup's encrypted body waits in restore_chunks for the first unseal.
      await db.schema.alterTable("seal_config").addColumn("restore_pending", "text").execute();
      await db.schema
        .createTable("restore_chunks")
        .addColumn("seq", "integer", (c) => c.primaryKey())
        .addColumn("data", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0008-devices": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("devices")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("serial", "text", (c) => c.notNull())
        .addColumn("label", "text", (c) => c.notNull())
        .addColumn("protects", "text", (c) => c.notNull())
        .addColumn("location", "text", (c) => c.notNull())
        .addColumn("custodian", "text", (c) => c.notNull())
        .addColumn("battery_expires", "text")
        .addColumn("review_by", "text")
        .addColumn("notes", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("access_rule", "text")
        .addColumn("checked_out_by", "text")
        .addColumn("checked_out_at", "text")
        .addColumn("checkout_reason", "text")
        .addColumn("reminded_on", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0009-token-tree": {
    async up(db: Kysely<unknown>) {
      // Who answers for each token (see TokenTable.owner), inherited along the token tree.
      await db.schema.alterTable("tokens").addColumn("owner", "text").execute();
      const owners = await tokenOwnersBefore0009(db);
      for (const [accessor, owner] of owners)
        await sql`update tokens set owner = ${owner} where accessor = ${accessor}`.execute(db);
      await sql`create index tokens_parent on tokens (parent_accessor)`.execute(db);
      await sql`create index tokens_owner on tokens (owner)`.execute(db);
      // The token behind each entry, beside the person who answers for it (AuditFields.token).
      await db.schema.alterTable("audit_entries").addColumn("token", "text").execute();
      await db.schema.alterTable("audit_entries").addColumn("token_name", "text").execute();
    },
  },
  "0010-second-factors": {
    async up(db: Kysely<unknown>) {
      // People's own second factors leave the TOTP engine's keys (where they were userpass-mfa.NAME).
      await db.schema
        .createTable("second_factors")
        .addColumn("username", "text", (c) => c.primaryKey())
        .addColumn("seed_ciphertext", "text", (c) => c.notNull())
        .addColumn("key_version", "integer", (c) => c.notNull())
        .addColumn("sealed_as", "text", (c) => c.notNull())
        .addColumn("algorithm", "text", (c) => c.notNull())
        .addColumn("digits", "integer", (c) => c.notNull())
        .addColumn("period", "integer", (c) => c.notNull())
        .addColumn("skew", "integer", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("last_accepted_step", "bigint")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("enabled_at", "text")
        .execute();
      // Migrations run sealed: a moved seed keeps its ciphertext, sealed as totp_keys/userpass-mfa.NAME/vN
      // (sealed_as says so), until the re-encryption at the next unseal seals it as this table's row.
      await sql`
        insert into second_factors (username, seed_ciphertext, key_version, sealed_as, algorithm, digits,
          period, skew, state, last_accepted_step, created_at, enabled_at)
        select users.username, totp_keys.seed_ciphertext, totp_keys.key_version, 'totp_keys',
          totp_keys.algorithm, totp_keys.digits, totp_keys.period, totp_keys.skew, users.mfa_state,
          totp_keys.last_accepted_step, totp_keys.created_at, null
        from totp_keys join users on users.username = substr(totp_keys.name, 14)
        where substr(totp_keys.name, 1, 13) = 'userpass-mfa.' and users.mfa_state in ('pending', 'enabled')`.execute(
        db,
      );
      // The rest never opened a login (the person was deleted, or had reset to none): no one's
      // factor any more, and no credential either (their codes were never readable), so they go.
      await sql`delete from totp_keys where substr(name, 1, 13) = 'userpass-mfa.'`.execute(db);
    },
  },
  "0011-login-attempts": {
    async up(db: Kysely<unknown>) {
      // Every attempt is counted before its password is checked; the lock is no longer stored but
      // follows from the count and the time of the attempt that left it (core/people.ts lockEnds).
      for (const column of ["first_attempt_at", "last_attempt_at", "previous_attempt_at"])
        await db.schema.alterTable("login_failures").addColumn(column, "text").execute();
      // A lock in force stays in force: counted from its end it lasts longer, never shorter.
      const now = new Date().toISOString();
      await sql`update login_failures set first_attempt_at = coalesce(locked_until, ${now}),
        last_attempt_at = coalesce(locked_until, ${now})`.execute(db);
      await db.schema.alterTable("login_failures").dropColumn("locked_until").execute();
    },
  },
  "0012-token-lifetimes": {
    async up(db: Kysely<unknown>) {
      // Vault's lookup fields and renewal (TokenTable.path, creation_ttl, explicit_max_ttl, renewable).
      for (const [column, type] of [
        ["path", "text"],
        ["creation_ttl", "integer"],
        ["explicit_max_ttl", "integer"],
        ["renewable", "integer"],
        ["last_renewal_at", "text"],
      ] as const)
        await db.schema.alterTable("tokens").addColumn(column, type).execute();
      // Older tokens were issued not renewable, with no explicit max; a root token (init,
      // generate-root) is the one that answers for itself.
      const { rows } = await sql<{
        accessor: string;
        username: string | null;
        policies: string;
        parent_accessor: string | null;
        owner: string;
        created_at: string;
        expires_at: string | null;
      }>`select accessor, username, policies, parent_accessor, owner, created_at, expires_at from tokens`.execute(
        db,
      );
      for (const row of rows) {
        const path =
          row.username !== null
            ? `auth/userpass/login/${row.username}`
            : row.parent_accessor === null && row.owner === `token:${row.accessor}`
              ? "auth/token/root"
              : "auth/token/create";
        const ttl = row.expires_at
          ? Math.max(0, Math.round((Date.parse(row.expires_at) - Date.parse(row.created_at)) / 1000))
          : 0;
        await sql`update tokens set path = ${path}, creation_ttl = ${ttl}, explicit_max_ttl = 0, renewable = 0
          where accessor = ${row.accessor}`.execute(db);
      }
    },
  },
  "0013-delivery": {
    async up(db: Kysely<unknown>) {
      // Notifications and sinks delivered from the store (services/delivery), not from memory.
      await db.schema
        .createTable("notification_outbox")
        .addColumn("seq", "bigint", (c) => c.primaryKey())
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("event", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("delivery_cursors")
        .addColumn("destination", "text", (c) => c.primaryKey())
        .addColumn("position", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("leases")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("holder", "text", (c) => c.notNull())
        .addColumn("until_ms", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("dead_letters")
        .addColumn("letter", "text", (c) => c.primaryKey())
        .addColumn("destination", "text", (c) => c.notNull())
        .addColumn("seq", "bigint", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("summary", "text", (c) => c.notNull())
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull())
        .addColumn("dead_at", "text", (c) => c.notNull())
        .addColumn("redrive", "integer", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("cluster_notices")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0014-oidc": {
    async up(db: Kysely<unknown>) {
      // Sign-in with an OpenID provider (who may), and a person blocked by an admin.
      await db.schema.alterTable("users").addColumn("disabled", "integer").execute();
      await db.schema.alterTable("users").addColumn("sso", "integer").execute();
      await db.schema
        .createTable("oidc_config")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("discovery_url", "text", (c) => c.notNull())
        .addColumn("client_id", "text", (c) => c.notNull())
        .addColumn("client_secret_ciphertext", "text")
        .addColumn("key_version", "integer")
        .addColumn("default_role", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("oidc_roles")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("oidc_states")
        .addColumn("state_hmac", "text", (c) => c.primaryKey())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("redirect_uri", "text", (c) => c.notNull())
        .addColumn("client_nonce_hmac", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("oidc_identities")
        .addColumn("subject_key", "text", (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("oidc_logins")
        .addColumn("accessor", "text", (c) => c.primaryKey())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("subject_key", "text", (c) => c.notNull())
        .addColumn("refresh_ciphertext", "text")
        .addColumn("key_version", "integer")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0015-passkeys": {
    async up(db: Kysely<unknown>) {
      // People's passkeys (public keys only), the challenges handed out for them, and the rule's step-up flags.
      await db.schema
        .createTable("passkeys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("public_key", "text", (c) => c.notNull())
        .addColumn("counter", "bigint", (c) => c.notNull())
        .addColumn("transports", "text", (c) => c.notNull())
        .addColumn("device_type", "text", (c) => c.notNull())
        .addColumn("backed_up", "integer", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_used_at", "text")
        .execute();
      await db.schema.createIndex("passkeys_by_username").on("passkeys").column("username").execute();
      await db.schema
        .createTable("passkey_challenges")
        .addColumn("challenge", "text", (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("purpose", "text", (c) => c.notNull())
        .addColumn("binding", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("expires_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.alterTable("access_rules").addColumn("step_up", "integer").execute();
      await db.schema.alterTable("access_rules").addColumn("approver_step_up", "integer").execute();
    },
  },
};

/**
 * The owner of every token stored before 0009. The tokens table did not record who made an orphan
 * (`no_parent`) or a token whose maker was since revoked, but the audit log did, in the form the
 * code before 0009 wrote: `token.create` (actor `token:MAKER`, target `token:MADE`),
 * `ui.session.open` (target `token:SESSION`, details.parent the pasted token's accessor) and
 * `auth.userpass.login` (target `user:NAME`, details.token `token:LOGIN`). A token whose maker is
 * known answers to its maker's owner; one with none is a root token's line of its own.
 */
async function tokenOwnersBefore0009(db: Kysely<unknown>): Promise<Map<string, string>> {
  const { rows: tokens } = await sql<{
    accessor: string;
    parent_accessor: string | null;
    username: string | null;
  }>`
    select accessor, parent_accessor, username from tokens`.execute(db);
  const { rows: entries } = await sql<{
    action: string;
    actor: string;
    target: string | null;
    details: string;
  }>`
    select action, actor, target, details from audit_entries where outcome = 'allowed'
      and action in ('token.create', 'ui.session.open', 'auth.userpass.login')`.execute(db);
  const accessorIn = (text: unknown) =>
    typeof text === "string" && text.startsWith("token:") ? text.slice("token:".length) : null;
  const makerOf = new Map<string, string>();
  const personOf = new Map<string, string>();
  for (const entry of entries) {
    let details: Record<string, unknown> = {};
    try {
      details = JSON.parse(entry.details) as Record<string, unknown>;
    } catch {} // a hand-edited row tells nothing
    const made = accessorIn(entry.target);
    if (entry.action === "token.create" && made && accessorIn(entry.actor))
      makerOf.set(made, accessorIn(entry.actor) as string);
    if (entry.action === "ui.session.open" && made && typeof details.parent === "string")
      makerOf.set(made, details.parent);
    const login = accessorIn(details.token);
    if (entry.action === "auth.userpass.login" && login && entry.target?.startsWith("user:"))
      personOf.set(login, entry.target.slice("user:".length));
  }
  const byAccessor = new Map(tokens.map((row) => [row.accessor, row]));
  const ownerOf = (accessor: string, depth = 0): string => {
    const row = byAccessor.get(accessor);
    const person = row?.username ?? personOf.get(accessor);
    if (person) return `user:${person}`;
    const maker = row?.parent_accessor ?? makerOf.get(accessor);
    return maker && depth < 64 ? ownerOf(maker, depth + 1) : `token:${accessor}`;
  };
  return new Map(tokens.map((row) => [row.accessor, ownerOf(row.accessor)]));
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  checkOutcome(await new Migrator({ db, provider }).migrateToLatest());
}

/** Runs the migrations up to and including `name` only: for tests that build a database as an older version left it. */
export async function migrateUpTo(db: Kysely<unknown>, name: string): Promise<void> {
  checkOutcome(await new Migrator({ db, provider }).migrateTo(name));
}

function checkOutcome({ error, results }: MigrationResultSet): void {
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
