import { Readable } from "node:stream";
import { type AuditEntry, type AuditFields, chainEntries } from "../../core/audit-chain.js";
import { publicKeyFromSeed, publicKeyPem } from "../../core/audit-checkpoint.js";
import {
  type BackupHeader,
  BackupWriter,
  deriveFileKey,
  openChunk,
  type PendingRestore,
  parsePendingRestore,
  readBackup,
} from "../../core/backup-file.js";
import { type Clock, isoTime } from "../../core/clock.js";
import { BreakglassError, badInput, conflict, sealedError } from "../../core/errors.js";
import type { BackupSnapshot, SealConfig, Store } from "../../store/store.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { RequestContext } from "../context.js";
import type { SealService } from "../seal/seal.js";

export interface BackupDownload {
  /** breakglass-<cluster id>-<UTC time>.bgbackup */
  fileName: string;
  /** The file's bytes; ending or destroying it ends the snapshot it is read from. */
  stream: Readable;
}

export interface RestoreSummary {
  createdAt: string;
  clusterId: string;
  secretShares: number;
  secretThreshold: number;
  keyId: string;
  rows: Record<string, number>;
}

const NOT_UNINITIALISED = "restore needs an uninitialised server: this one is initialised";

/**
 * Encrypted backups (docs/backups.md): made while unsealed, under a key derived from the root key,
 * so a backup opens only with a quorum of the shares current when it was made. A restore stages
 * the file into an uninitialised server; the first unseal with those shares applies it.
 */
export class BackupService {
  private restoring = false;
  /** Backups being written: sealing wipes their keys and ends them. */
  private readonly writing = new Set<BackupWriter>();

  constructor(
    private readonly store: Store,
    private readonly seal: SealService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    seal.onKeyringOpened((opened, ctx) => this.applyPendingRestore(opened.backupKey, opened.config, ctx));
    seal.box.onWipe(() => {
      for (const writer of this.writing) writer.dispose();
      this.writing.clear();
    });
  }

  /** A backup for an API caller with `sys.backup`. */
  async create(ctx: RequestContext): Promise<BackupDownload> {
    return this.backUp(ctx);
  }

  /**
   * A backup, on the audit log before its first byte (so the backup holds its own entry). The
   * caller has been authorised (an API request) or is the server itself (the schedule).
   */
  async backUp(ctx: RequestContext): Promise<BackupDownload> {
    const schema = await this.store.backup.schemaVersion();
    // From here to the writer's registration nothing awaits, so a seal cannot slip in between.
    const { config, backupKey } = await this.seal.backupMaterial();
    let signingSeed: Buffer | null = null;
    let writer: BackupWriter;
    const createdAt = isoTime(this.clock);
    try {
      signingSeed = Buffer.from(this.seal.box.keyringOrThrow().auditSigningSeed);
      writer = new BackupWriter(
        {
          created_at: createdAt,
          cluster_id: config.clusterId,
          initialized_at: config.createdAt,
          schema,
          secret_shares: config.secretShares,
          secret_threshold: config.secretThreshold,
          pgp_fingerprints: config.pgpFingerprints,
          sealed_keyring: config.sealedKeyring.toString("base64"),
          audit_public_key: publicKeyPem(publicKeyFromSeed(signingSeed)),
        },
        backupKey,
        signingSeed,
      );
      this.writing.add(writer);
    } finally {
      backupKey.fill(0);
      signingSeed?.fill(0);
    }
    let snapshot: BackupSnapshot;
    try {
      await this.audit.record(ctx, {
        action: "sys.backup",
        target: "sys/backup",
        outcome: "allowed",
        details: {
          created_at: createdAt,
          secret_shares: config.secretShares,
          secret_threshold: config.secretThreshold,
        },
      });
      snapshot = await this.store.backup.openSnapshot();
      if (!snapshot.sealedKeyring?.equals(config.sealedKeyring)) {
        await snapshot.close();
        throw conflict("the keyring changed as the backup began (a data key rotation or a rekey): try again");
      }
    } catch (error) {
      this.writing.delete(writer);
      writer.dispose();
      throw error;
    }
    const stream = Readable.from(this.fileBytes(writer, snapshot), { objectMode: false });
    // However the stream ends (read to the end, failed, or abandoned by the client), let go of both.
    stream.once("close", () => {
      this.writing.delete(writer);
      writer.dispose();
      void snapshot.close().catch(() => {});
    });
    return { fileName: backupFileName(config.clusterId, createdAt), stream };
  }

  private async *fileBytes(writer: BackupWriter, snapshot: BackupSnapshot): AsyncGenerator<Buffer> {
    yield writer.start(snapshot.counts);
    for await (const { table, rows } of snapshot.pages()) {
      if (this.seal.isSealed) throw sealedError(); // sealing stops a backup half-way: nothing more is read
      for (const row of rows) {
        const chunk = await writer.add({ table, row });
        if (chunk) yield chunk;
      }
    }
    yield await writer.finish();
    await snapshot.close();
  }

  /**
   * Reads and checks a backup file into an uninitialised server: chunks are staged as they come,
   * and removed again if anything is wrong. The server is then initialised and sealed; the first
   * unseal with the backup's shares applies it (its audit chain is not here before that).
   */
  async restore(source: AsyncIterable<Uint8Array>, _ctx: RequestContext): Promise<RestoreSummary> {
    if (this.restoring) throw conflict("a restore is already running on this server");
    this.restoring = true;
    try {
      if ((await this.store.readSealConfig()) !== null)
        throw new BreakglassError("ALREADY_INITIALIZED", NOT_UNINITIALISED);
      if ((await this.store.listAuditEntries({ limit: 1 })).length > 0)
        throw new BreakglassError(
          "ALREADY_INITIALIZED",
          "restore needs an uninitialised server: this one has audit entries (an interrupted init?); use an empty data directory or database",
        );
      const schema = await this.store.backup.schemaVersion();
      await this.store.backup.clearStagedChunks(); // what an interrupted restore left
      try {
        return await this.stageAndInitialise(source, schema);
      } catch (error) {
        await this.store.backup.clearStagedChunks().catch(() => {});
        throw error;
      }
    } finally {
      this.restoring = false;
    }
  }

  private async stageAndInitialise(
    source: AsyncIterable<Uint8Array>,
    schema: string[],
  ): Promise<RestoreSummary> {
    const summary = await readBackup(source, {
      onHeader: (header) => checkSchema(header, schema),
      onChunk: async (index, payload) => {
        try {
          await this.store.backup.stageChunk(index, payload);
        } catch (error) {
          if (error instanceof BreakglassError) throw error;
          throw conflict("the backup could not be staged: is another restore running on this database?");
        }
      },
    });
    const { header } = summary;
    const pending: PendingRestore = {
      header_sha256: summary.headerDigest,
      salt: header.salt,
      chunks: summary.chunks,
      created_at: header.created_at,
      counts: header.counts,
    };
    const config: SealConfig = {
      secretShares: header.secret_shares,
      secretThreshold: header.secret_threshold,
      sealedKeyring: Buffer.from(header.sealed_keyring, "base64"),
      pgpFingerprints: header.pgp_fingerprints,
      clusterId: header.cluster_id,
      createdAt: header.initialized_at,
      auditPublicKey: header.audit_public_key,
      restorePending: JSON.stringify(pending),
    };
    // Custodians come back with the rest of the rows, at the unseal.
    if (!(await this.store.createSealConfig(config, [])))
      throw new BreakglassError("ALREADY_INITIALIZED", NOT_UNINITIALISED);
    this.seal.forgetConfig();
    return {
      createdAt: header.created_at,
      clusterId: header.cluster_id,
      secretShares: header.secret_shares,
      secretThreshold: header.secret_threshold,
      keyId: summary.keyId,
      rows: header.counts,
    };
  }

  /** At an unseal: applies a staged restore in one transaction, then records it. A failure keeps the vault sealed. */
  private async applyPendingRestore(
    backupKey: Buffer,
    config: SealConfig,
    ctx: RequestContext,
  ): Promise<void> {
    if (!config.restorePending) return;
    const pending = parsePending(config.restorePending);
    const fileKey = deriveFileKey(backupKey, Buffer.from(pending.salt, "base64"));
    let rows: Record<string, number> | null;
    try {
      rows = await this.store.backup.applyStagedRestore({
        pending: config.restorePending,
        chunks: pending.chunks,
        counts: pending.counts,
        open: (index, payload) => openChunk(fileKey, index, pending.header_sha256, payload),
        relink: (head, displaced) => chainEntries(head, displaced.map(fieldsOf)),
      });
    } catch (error) {
      // On the record even so (the chain here is the one the restore would have replaced).
      const problem =
        error instanceof BreakglassError ? error.message : "the restored rows could not be written";
      await this.audit
        .record(ctx, {
          action: "sys.restore",
          target: "sys/restore",
          outcome: "failed",
          details: { problem },
        })
        .catch(() => {});
      throw error;
    } finally {
      fileKey.fill(0);
      this.seal.forgetConfig();
    }
    if (rows === null) return; // another node applied it first
    await this.audit.record(ctx, {
      action: "sys.restore",
      target: "sys/restore",
      outcome: "allowed",
      details: {
        backup_created_at: pending.created_at,
        ...Object.fromEntries(Object.entries(rows).map(([table, count]) => [`rows_${table}`, count])),
      },
    });
  }
}

/** The name scheduled backups are kept under; sorts by time. */
export function backupFileName(clusterId: string, createdAt: string): string {
  return `breakglass-${clusterId}-${createdAt.replace(/[-:]/g, "")}.bgbackup`;
}

function checkSchema(header: BackupHeader, schema: string[]): void {
  if (header.schema.join(",") === schema.join(",")) return;
  const describe = (names: string[]) => names.at(-1) ?? "none";
  throw badInput(
    `the backup was made with database schema ${describe(header.schema)} (${header.schema.length} migrations) and this server has ${describe(schema)} (${schema.length}): restore with the version that made it`,
  );
}

function parsePending(text: string): PendingRestore {
  const pending = parsePendingRestore(text);
  if (pending === null)
    throw badInput("the pending restore is unreadable: restore the backup again into an empty server");
  return pending;
}

function fieldsOf(entry: AuditEntry): AuditFields {
  const { seq: _seq, prev_hash: _prev, hash: _hash, ...fields } = entry;
  return fields;
}
