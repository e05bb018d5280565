import { type Kysely, sql } from "kysely";
import type { EngineSpecifics } from "./engine.js";
import { KyselyApprovalStore } from "./kysely-approvals.js";
import { kyselyAudit } from "./kysely-audit.js";
import { kyselyAuditSinks } from "./kysely-audit-sinks.js";
import { KyselyBackupStore } from "./kysely-backup.js";
import { KyselyDeliveryStore } from "./kysely-delivery.js";
import { KyselyDeviceStore } from "./kysely-devices.js";
import { kyselyLoginFailures } from "./kysely-login-failures.js";
import { KyselyNotificationStore } from "./kysely-notifications.js";
import { KyselyOidcStore } from "./kysely-oidc.js";
import { KyselyPasskeyStore } from "./kysely-passkeys.js";
import { kyselyPeople } from "./kysely-people.js";
import { kyselySealConfig } from "./kysely-seal.js";
import { KyselySecondFactorStore } from "./kysely-second-factors.js";
import { KyselySecretStore } from "./kysely-secrets.js";
import { KyselyTokenStore } from "./kysely-tokens.js";
import { kyselyTotpKeys } from "./kysely-totp-keys.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";

/**
 * The store on a Kysely database: each aggregate in its own file, the flat ones spread onto the
 * store, the others nested; what differs between engines comes from `engine`.
 */
export function kyselyStore(db: Kysely<Database>, engine: EngineSpecifics): Store {
  return {
    engine: engine.engine,
    location: engine.location,
    ...kyselySealConfig(db),
    ...kyselyTotpKeys(db),
    ...kyselyPeople(db),
    ...kyselyLoginFailures(db),
    ...kyselyAudit(db, engine.auditAppender),
    ...kyselyAuditSinks(db),
    tokens: new KyselyTokenStore(db),
    notifications: new KyselyNotificationStore(db),
    approvals: new KyselyApprovalStore(db),
    secondFactors: new KyselySecondFactorStore(db),
    passkeys: new KyselyPasskeyStore(db),
    devices: new KyselyDeviceStore(db),
    delivery: new KyselyDeliveryStore(engine.deliveryDb ?? db),
    oidc: new KyselyOidcStore(db),
    secrets: new KyselySecretStore(db),
    backup: new KyselyBackupStore(db, engine),
    async ping() {
      await sql`select 1`.execute(db);
    },
    databaseTime: () => engine.databaseTime(),
    probeWrite: () => engine.probeWrite(),
    async close() {
      await db.destroy();
      await engine.close();
    },
  };
}
