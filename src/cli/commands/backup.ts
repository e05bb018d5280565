import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type BackupSummary, readBackup } from "../../core/backup-file.js";
import { contextOf } from "../command-context.js";
import { readInputFile, streamInputBytes } from "../local-files.js";
import { CliError, emit, type OutputMode, table } from "../output.js";
import { megabytes, stderrProgressBar } from "../progress.js";

interface RestoreData {
  created_at: string;
  cluster_id: string;
  secret_shares: number;
  secret_threshold: number;
  key_id: string;
  rows: Record<string, number>;
}

export function registerBackup(program: Command): void {
  const backup = program
    .command("backup")
    .description("encrypted, signed backups: make one, check one offline, restore one (docs/backups.md)");

  backup
    .command("create")
    .description("download a backup of everything (a token with sys.backup; the server unsealed)")
    .requiredOption("--out <file>", "where to write it (written beside it first, then renamed)")
    .option("--force", "replace the file if it exists")
    .addHelpText(
      "after",
      "\nThe backup opens only with a quorum of the shares current now: after a rekey, keep the old shares with the old backups, or destroy both.",
    )
    .action(async (options: { out: string; force?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const out = resolve(options.out);
      if (existsSync(out) && !options.force)
        throw new CliError(`${out} exists already: give --force to replace it`);
      const temporary = `${out}.tmp`;
      const handle = await createFile(temporary);
      const digest = createHash("sha256");
      let bytes = 0;
      const bar = await stderrProgressBar("receiving backup  {received}");
      bar?.start(0, 0, { received: megabytes(0) });
      let summary: BackupSummary;
      try {
        try {
          for await (const block of ctx.client.streamBytes("/v1/sys/backup")) {
            await handle.write(block);
            digest.update(block);
            bytes += block.length;
            bar?.update(bytes, { received: megabytes(bytes) });
          }
          await handle.sync();
        } finally {
          await handle.close();
          bar?.stop();
        }
        // Checked before it takes its name: a file called a backup is a whole, signed one.
        summary = await readBackup(createReadStream(temporary));
        await rename(temporary, out);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      const data = { file: out, bytes, sha256: digest.digest("hex"), ...describeSummary(summary) };
      emit(ctx, data, () => [
        `Wrote ${data.file}: ${megabytes(data.bytes)} (${data.bytes} bytes), sha256 ${data.sha256}`,
        ...summaryLines(data),
      ]);
    });

  backup
    .command("verify")
    .description("check a backup file offline, without the server: exit 0 intact and signed, 1 otherwise")
    .argument("<file>", "the backup file")
    .option(
      "--public-key <file>",
      "the key it must be signed with (PEM or ssh-ed25519: breakglass audit public-key)",
    )
    .action(async (file: string, options: { publicKey?: string }, command: Command) => {
      const mode = outputMode(command);
      const expectedPublicKey = options.publicKey
        ? readInputFile(options.publicKey, "public key").toString("utf8")
        : undefined;
      const summary = await readBackup(streamInputBytes(file, "backup").blocks, { expectedPublicKey });
      const data = { file: resolve(file), verified: true, ...describeSummary(summary) };
      emit(mode, data, () => [
        `${data.file}: intact, signed by key ${data.key_id}${options.publicKey ? " (the key given)" : " (the key in its header: give --public-key to check whose it is)"}`,
        ...summaryLines(data),
      ]);
    });

  backup
    .command("restore")
    .description(
      "restore a backup into an uninitialised server; it is then sealed until unsealed with the backup's shares",
    )
    .argument("<file>", "the backup file")
    .action(async (file: string, _options, command: Command) => {
      const ctx = contextOf(command);
      const { size, blocks } = streamInputBytes(file, "backup");
      const bar = await stderrProgressBar("uploading [{bar}] {percentage}%  {sent} of {size}");
      bar?.start(size, 0, { sent: megabytes(0), size: megabytes(size) });
      async function* counted(): AsyncGenerator<Uint8Array> {
        let sent = 0;
        for await (const block of blocks) {
          sent += block.length;
          bar?.update(sent, { sent: megabytes(sent) });
          yield block;
        }
      }
      let data: RestoreData;
      try {
        data = await ctx.client.data<RestoreData>("POST", "/v1/sys/restore", { upload: counted() });
      } finally {
        bar?.stop();
      }
      emit(ctx, data, (restored) => [
        `Restored the backup of ${restored.created_at} (cluster ${restored.cluster_id}, signed by key ${restored.key_id}):`,
        ...table(Object.entries(restored.rows).map(([name, rows]) => [`  ${name}`, rows])),
        `restored; the server is sealed: unseal it with the shares of the backup (${restored.secret_threshold} of ${restored.secret_shares})`,
      ]);
    });
}

function outputMode(command: Command): OutputMode {
  const { json, debug } = command.optsWithGlobals<{ json?: boolean; debug?: boolean }>();
  return { json: Boolean(json), debug: Boolean(debug) };
}

function describeSummary(summary: BackupSummary) {
  const { header } = summary;
  return {
    created_at: header.created_at,
    cluster_id: header.cluster_id,
    key_id: summary.keyId,
    secret_shares: header.secret_shares,
    secret_threshold: header.secret_threshold,
    rows: header.counts,
  };
}

function summaryLines(data: ReturnType<typeof describeSummary>): string[] {
  return [
    `made ${data.created_at} by cluster ${data.cluster_id}, signed by key ${data.key_id}`,
    `opens with ${data.secret_threshold} of the ${data.secret_shares} shares current then`,
    ...table(Object.entries(data.rows).map(([name, rows]) => [`  ${name}`, rows])),
  ];
}

async function createFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, "w", 0o600);
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}
