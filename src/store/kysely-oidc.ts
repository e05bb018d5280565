import type { Kysely, Selectable } from "kysely";
import type { Database, OidcLoginTable } from "./schema.js";
import type { OidcLoginRecord, OidcStore } from "./store.js";

const fromBase64 = (text: string | null): Buffer | null =>
  text === null ? null : Buffer.from(text, "base64");
const toBase64 = (bytes: Buffer | null): string | null => (bytes === null ? null : bytes.toString("base64"));

/** Sign-in with an OpenID provider, on either engine. */
export class KyselyOidcStore implements OidcStore {
  constructor(private readonly db: Kysely<Database>) {}

  async readConfig() {
    const row = await this.db.selectFrom("oidc_config").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!row) return null;
    return {
      discoveryUrl: row.discovery_url,
      clientId: row.client_id,
      clientSecretCiphertext: fromBase64(row.client_secret_ciphertext),
      keyVersion: row.key_version,
      defaultRole: row.default_role,
      updatedAt: row.updated_at,
    };
  }

  async putConfig(config: Parameters<OidcStore["putConfig"]>[0]) {
    const row = {
      discovery_url: config.discoveryUrl,
      client_id: config.clientId,
      client_secret_ciphertext: toBase64(config.clientSecretCiphertext),
      key_version: config.keyVersion,
      default_role: config.defaultRole,
      updated_at: config.updatedAt,
    };
    await this.db
      .insertInto("oidc_config")
      .values({ id: 1, ...row })
      .onConflict((oc) => oc.column("id").doUpdateSet(row))
      .execute();
  }

  async deleteConfig() {
    await this.db.deleteFrom("oidc_config").execute();
  }

  async findRole(name: string) {
    const row = await this.db
      .selectFrom("oidc_roles")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return row ? { name: row.name, spec: row.spec, updatedAt: row.updated_at } : null;
  }

  async putRole(role: Parameters<OidcStore["putRole"]>[0]) {
    const row = { name: role.name, spec: role.spec, updated_at: role.updatedAt };
    await this.db
      .insertInto("oidc_roles")
      .values(row)
      .onConflict((oc) => oc.column("name").doUpdateSet({ spec: row.spec, updated_at: row.updated_at }))
      .execute();
  }

  async deleteRole(name: string) {
    const result = await this.db.deleteFrom("oidc_roles").where("name", "=", name).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async listRoleNames() {
    const rows = await this.db.selectFrom("oidc_roles").select("name").orderBy("name").execute();
    return rows.map((row) => row.name);
  }

  async putState(state: Parameters<OidcStore["putState"]>[0]) {
    await this.db
      .insertInto("oidc_states")
      .values({
        state_hmac: state.stateHmac,
        role: state.role,
        redirect_uri: state.redirectUri,
        client_nonce_hmac: state.clientNonceHmac,
        created_at: state.createdAt,
        expires_at: state.expiresAt,
      })
      .execute();
  }

  async takeState(stateHmac: string, now: string) {
    await this.db.deleteFrom("oidc_states").where("expires_at", "<=", now).execute();
    // One delete decides who takes it: of two callbacks with the same state, only one gets the row.
    const row = await this.db
      .deleteFrom("oidc_states")
      .where("state_hmac", "=", stateHmac)
      .returningAll()
      .executeTakeFirst();
    if (!row || row.expires_at <= now) return null;
    return {
      stateHmac: row.state_hmac,
      role: row.role,
      redirectUri: row.redirect_uri,
      clientNonceHmac: row.client_nonce_hmac,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async findIdentity(subjectKey: string) {
    const row = await this.db
      .selectFrom("oidc_identities")
      .selectAll()
      .where("subject_key", "=", subjectKey)
      .executeTakeFirst();
    return row ? { subjectKey: row.subject_key, username: row.username, createdAt: row.created_at } : null;
  }

  async findIdentityOf(username: string) {
    const row = await this.db
      .selectFrom("oidc_identities")
      .selectAll()
      .where("username", "=", username)
      .executeTakeFirst();
    return row ? { subjectKey: row.subject_key, username: row.username, createdAt: row.created_at } : null;
  }

  async bindIdentity(identity: Parameters<OidcStore["bindIdentity"]>[0]) {
    const rows = await this.db
      .insertInto("oidc_identities")
      .values({
        subject_key: identity.subjectKey,
        username: identity.username,
        created_at: identity.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("subject_key")
      .execute();
    return rows.length === 1;
  }

  async putLogin(login: OidcLoginRecord) {
    const row = {
      accessor: login.accessor,
      role: login.role,
      username: login.username,
      subject_key: login.subjectKey,
      refresh_ciphertext: toBase64(login.refreshCiphertext),
      key_version: login.keyVersion,
      updated_at: login.updatedAt,
    };
    await this.db
      .insertInto("oidc_logins")
      .values(row)
      .onConflict((oc) =>
        oc.column("accessor").doUpdateSet({
          refresh_ciphertext: row.refresh_ciphertext,
          key_version: row.key_version,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  async findLogin(accessor: string) {
    const row = await this.db
      .selectFrom("oidc_logins")
      .selectAll()
      .where("accessor", "=", accessor)
      .executeTakeFirst();
    return row ? loginOf(row) : null;
  }

  async deleteLogin(accessor: string) {
    await this.db.deleteFrom("oidc_logins").where("accessor", "=", accessor).execute();
  }
}

function loginOf(row: Selectable<OidcLoginTable>): OidcLoginRecord {
  return {
    accessor: row.accessor,
    role: row.role,
    username: row.username,
    subjectKey: row.subject_key,
    refreshCiphertext: fromBase64(row.refresh_ciphertext),
    keyVersion: row.key_version,
    updatedAt: row.updated_at,
  };
}
