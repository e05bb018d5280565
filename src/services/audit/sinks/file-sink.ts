import { type FileHandle, open, rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type AuditEntry, auditLine } from "../../../core/audit-chain.js";
import type { SinkTransport } from "../../delivery/transport.js";
import type { FileOptions } from "./sink-config.js";

/**
 * A JSON-lines file, one `auditLine` per entry, opened O_APPEND with mode 0600. Before a file
 * would pass `max_bytes` it is rotated: path → path.1 → … → path.KEEP (the oldest is dropped).
 * An entry counts as delivered once written and fsync'd. A file moved or deleted from outside is
 * noticed before the next write and opened anew.
 */
export class FileSink implements SinkTransport {
  private handle: FileHandle | null = null;
  private inode = 0;
  private size = 0;
  private closed = false;

  constructor(private readonly options: FileOptions) {}

  async send(entries: AuditEntry[]): Promise<void> {
    try {
      await this.ensureOpen();
      let chunk: string[] = [];
      let chunkBytes = 0;
      for (const entry of entries) {
        const line = `${auditLine(entry)}\n`;
        const bytes = Buffer.byteLength(line, "utf8");
        // A file holds at least one entry, however small max_bytes is.
        if (this.size + chunkBytes > 0 && this.size + chunkBytes + bytes > this.options.max_bytes) {
          await this.write(chunk);
          chunk = [];
          chunkBytes = 0;
          await this.rotate();
        }
        chunk.push(line);
        chunkBytes += bytes;
      }
      await this.write(chunk);
    } catch (error) {
      // Start from a fresh open next time: the file may have been replaced, the disk remounted.
      await this.release();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  private async ensureOpen(): Promise<void> {
    if (this.closed) throw new Error("the file sink is closed");
    if (this.handle) {
      const current = await stat(this.options.path).catch(() => null);
      if (current?.ino === this.inode) return;
      await this.release();
    }
    const handle = await open(this.options.path, "a", 0o600);
    const opened = await handle.stat();
    this.handle = handle;
    this.inode = opened.ino;
    this.size = opened.size;
  }

  private async write(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const handle = this.handle;
    if (!handle) throw new Error("the file sink is closed");
    const data = Buffer.from(lines.join(""), "utf8");
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
    await handle.sync();
    this.size += data.length;
  }

  private async rotate(): Promise<void> {
    await this.release();
    const { path, keep } = this.options;
    for (let n = keep - 1; n >= 1; n -= 1) await renameIfPresent(`${path}.${n}`, `${path}.${n + 1}`);
    await rename(path, `${path}.1`);
    await syncDirectory(dirname(path));
    await this.ensureOpen();
  }

  private async release(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
  }
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Makes the renames durable, as the fsync made the lines durable. */
async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
