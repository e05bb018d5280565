import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { describeError, type SinkLog } from "../delivery/transport.js";
import type { SealService } from "../seal/seal.js";
import type { BackupService } from "./backup.js";

export interface BackupScheduleSettings {
  /** Where backup files are written (created, mode 0700, if missing). */
  dir: string;
  intervalSeconds: number;
  /** How many of this vault's newest backup files are kept; older ones are deleted. */
  keep: number;
}

/** breakglass-<cluster id>-<UTC time>.bgbackup, as backupFileName makes them. */
const BACKUP_FILE = /^breakglass-([0-9a-f-]{36})-\d{8}T\d{6}\.\d{3}Z\.bgbackup$/;

/**
 * Backups to a directory every interval while unsealed (sealed, there is no key to make one).
 * Each file is written beside its final name, synced, then renamed, so a crash never leaves a
 * half file under a backup's name. One backup at a time; the timer does not keep the process up.
 */
export class BackupSchedule {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  /** Whether this sealed stretch was logged already: an operator hears once that backups stopped, not every interval. */
  private toldSealed = false;

  constructor(
    private readonly backups: BackupService,
    private readonly seal: SealService,
    private readonly settings: BackupScheduleSettings,
    private readonly log: SinkLog,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.backUpOnce());
    }, this.settings.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops the timer and waits for a backup being written. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One backup now, if unsealed, then the retention; never rejects (problems are logged). */
  async backUpOnce(): Promise<void> {
    if (this.seal.isSealed) {
      if (!this.toldSealed)
        this.log.warn(
          { dir: this.settings.dir },
          "scheduled backup skipped: sealed, there is no key to make one",
        );
      this.toldSealed = true;
      return;
    }
    this.toldSealed = false;
    const { dir, keep } = this.settings;
    let temporary: string | null = null;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const requestId = `scheduled-backup-${randomUUID()}`;
      const backup = await this.backups.backUp({
        actor: null,
        requestId,
        remoteAddr: null,
        userAgent: "breakglass scheduled backup",
      });
      const file = join(dir, backup.fileName);
      temporary = `${file}.tmp`;
      const handle = await open(temporary, "wx", 0o600);
      let bytes = 0;
      try {
        for await (const block of backup.stream) {
          await handle.write(block as Buffer);
          bytes += (block as Buffer).length;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      temporary = null;
      await syncDirectory(dir);
      this.log.info({ file, bytes, request_id: requestId }, "scheduled backup written");
      await this.keepNewest(dir, keep, clusterOf(backup.fileName));
    } catch (error) {
      if (temporary) await rm(temporary, { force: true }).catch(() => {});
      this.log.warn({ dir, problem: describeError(error) }, "scheduled backup failed");
    }
  }

  /** Deletes this vault's older backup files beyond `keep`; other files in the directory are left alone. */
  private async keepNewest(dir: string, keep: number, clusterId: string | null): Promise<void> {
    if (clusterId === null) return;
    const ours = (await readdir(dir))
      .filter((name) => clusterOf(name) === clusterId)
      .sort()
      .reverse();
    for (const name of ours.slice(keep)) {
      await rm(join(dir, name), { force: true });
      this.log.info({ file: join(dir, name) }, "old scheduled backup deleted");
    }
  }
}

function clusterOf(fileName: string): string | null {
  return BACKUP_FILE.exec(fileName)?.[1] ?? null;
}

/** A rename is durable only once the directory itself is synced. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
