import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { publicKeyFromSeed, publicKeyPem } from "../../src/core/audit-checkpoint.js";
import {
  type BackupHeader,
  type BackupRecord,
  BackupWriter,
  deriveFileKey,
  openChunk,
  readBackup,
} from "../../src/core/backup-file.js";

const backupKey = randomBytes(32);
const signingSeed = randomBytes(32);
const publicKey = publicKeyPem(publicKeyFromSeed(signingSeed));

/** Rows large enough that the body needs several chunks (random text barely compresses). */
const records: BackupRecord[] = [
  { table: "totp_keys", row: { name: "aws-prod-root", digits: 6, last_accepted_step: null } },
  ...Array.from({ length: 5 }, (_, i) => ({
    table: "audit_entries",
    row: { seq: i + 1, details: randomBytes(300_000).toString("hex") },
  })),
];

function newWriter(key = backupKey, seed = signingSeed): BackupWriter {
  return new BackupWriter(
    {
      created_at: "2026-01-02T03:04:05.678Z",
      cluster_id: "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      initialized_at: "2025-12-01T00:00:00.000Z",
      schema: ["0001-initial", "0002-next"],
      secret_shares: 5,
      secret_threshold: 3,
      pgp_fingerprints: [],
      sealed_keyring: randomBytes(120).toString("base64"),
      audit_public_key: publicKeyPem(publicKeyFromSeed(seed)),
    },
    key,
    seed,
  );
}

async function writeBackup(rows: BackupRecord[], key = backupKey, seed = signingSeed): Promise<Buffer> {
  const writer = newWriter(key, seed);
  const parts = [writer.start({ totp_keys: 1, audit_entries: rows.length - 1 })];
  for (const record of rows) {
    const chunk = await writer.add(record);
    if (chunk) parts.push(chunk);
  }
  parts.push(await writer.finish());
  return Buffer.concat(parts);
}

/** The file as a stream of odd-sized blocks, as a socket would deliver it. */
async function* blocksOf(file: Buffer, size = 7919): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < file.length; offset += size) yield file.subarray(offset, offset + size);
}

/** Where each frame starts: the magic is 10 bytes, then u8 type | u32 length | payload. */
type Frame = { type: number; start: number; end: number };
function framesOf(file: Buffer): Frame[] {
  const frames: Frame[] = [];
  for (let offset = 10; offset < file.length; ) {
    const end = offset + 5 + file.readUInt32BE(offset + 1);
    frames.push({ type: file.readUInt8(offset), start: offset, end });
    offset = end;
  }
  return frames;
}

let file: Buffer;
let frames: Frame[];
beforeAll(async () => {
  file = await writeBackup(records);
  frames = framesOf(file);
});

describe("a backup file", () => {
  it("reads back: header, every row in order, a signature by the audit key", async () => {
    const chunks: Buffer[] = [];
    let seenHeader: BackupHeader | null = null;
    const summary = await readBackup(blocksOf(file), {
      expectedPublicKey: publicKey,
      onHeader: (header) => {
        seenHeader = header;
      },
      onChunk: (index, payload) => {
        expect(index).toBe(chunks.length);
        chunks.push(Buffer.from(payload));
      },
    });
    expect(summary.header).toEqual(seenHeader);
    expect(summary.header).toMatchObject({ format: 1, secret_shares: 5, secret_threshold: 3 });
    expect(summary.chunks).toBeGreaterThanOrEqual(2);
    expect(chunks).toHaveLength(summary.chunks);
    const fileKey = deriveFileKey(backupKey, Buffer.from(summary.header.salt, "base64"));
    const rows = chunks.flatMap((chunk, index) => openChunk(fileKey, index, summary.headerDigest, chunk));
    expect(rows).toEqual(records);
    expect(frames.map((f) => f.type)).toEqual([1, ...chunks.map(() => 2), 3]);
  });

  it("holds no row in clear: the body is encrypted", () => {
    expect(file.includes(Buffer.from("aws-prod-root"))).toBe(false);
    expect(file.includes(Buffer.from(String(records[1]?.row.details).slice(0, 40)))).toBe(false);
  });

  it("is refused after any single-byte change in the magic, the header, a chunk or the trailer", async () => {
    const [header, chunk, trailer] = [frameAt(0), frameAt(1), frameAt(-1)];
    const offsets = new Set<number>([
      ...Array.from({ length: 10 }, (_, i) => i), // magic
      ...range(header.start, header.start + 40), // frame prefix and the start of the header
      Math.floor((header.start + header.end) / 2),
      header.end - 1,
      ...range(chunk.start, chunk.start + 24), // frame prefix and nonce
      Math.floor((chunk.start + chunk.end) / 2),
      ...range(chunk.end - 16, chunk.end), // tag
      ...range(trailer.start, trailer.end), // every byte of the trailer, signature padding included
    ]);
    const accepted: string[] = [];
    for (const offset of offsets)
      for (const flip of [0x01, 0x20, 0x80, 0xff]) {
        const changed = Buffer.from(file);
        changed[offset] = (changed[offset] as number) ^ flip;
        const outcome = await readBackup(blocksOf(changed)).then(
          () => "accepted",
          (error) => error.code,
        );
        if (outcome !== "BAD_INPUT") accepted.push(`byte ${offset} ^ ${flip}: ${outcome}`);
      }
    expect(accepted).toEqual([]);
  });

  it("names what is wrong, with no stack trace", async () => {
    const changedChunk = Buffer.from(file);
    changedChunk.writeUInt8(changedChunk.readUInt8(frameAt(1).start + 100) ^ 1, frameAt(1).start + 100);
    await expect(readBackup(blocksOf(changedChunk))).rejects.toThrow(
      "backup is damaged: its digest does not match (changed or truncated)",
    );
    await expect(readBackup(blocksOf(Buffer.from('{"not":"a backup"}')))).rejects.toThrow(
      "not a breakglass backup: it does not start with BGBACKUP1",
    );
    await expect(readBackup(blocksOf(Buffer.alloc(0)))).rejects.toThrow(
      "not a breakglass backup: it is empty",
    );
    const absurd = Buffer.from(file);
    absurd.writeUInt32BE(0xffffffff, frameAt(1).start + 1);
    await expect(readBackup(blocksOf(absurd))).rejects.toThrow(/larger than any backup writes/);
  });

  it("is refused when truncated anywhere, or with bytes added at the end", async () => {
    const cuts = [1, 9, 10, 12, 15, 200, frameAt(1).start + 3, frameAt(2).end - 1];
    cuts.push(frameAt(-1).start, file.length - 1);
    for (const cut of cuts)
      await expect(readBackup(blocksOf(file.subarray(0, cut))), `cut at ${cut}`).rejects.toMatchObject({
        code: "BAD_INPUT",
      });
    await expect(readBackup(blocksOf(Buffer.concat([file, Buffer.from([0])])))).rejects.toThrow(
      /bytes after its trailer/,
    );
  });

  it("is refused with its chunks reordered, dropped or repeated", async () => {
    const [first, second] = [frameAt(1), frameAt(2)];
    const rest = frames.slice(3);
    const piece = (f: Frame) => file.subarray(f.start, f.end);
    const start = file.subarray(0, frameAt(0).end);
    const variants = {
      reordered: [start, piece(second), piece(first), ...rest.map(piece)],
      dropped: [start, piece(second), ...rest.map(piece)],
      repeated: [start, piece(first), piece(first), piece(second), ...rest.map(piece)],
    };
    for (const [what, parts] of Object.entries(variants))
      await expect(readBackup(blocksOf(Buffer.concat(parts))), what).rejects.toMatchObject({
        code: "BAD_INPUT",
      });
  });

  it("is refused when another key is expected, and accepted with its own", async () => {
    const other = publicKeyPem(publicKeyFromSeed(randomBytes(32)));
    await expect(readBackup(blocksOf(file), { expectedPublicKey: other })).rejects.toThrow(
      /signed by key [0-9a-f]{16}, not by the key given/,
    );
    await expect(readBackup(blocksOf(file), { expectedPublicKey: publicKey })).resolves.toMatchObject({
      chunks: frames.length - 2,
    });
  });

  it("refuses a forged file signed by another key than the one expected, even when self-consistent", async () => {
    const forged = await writeBackup(records, backupKey, randomBytes(32));
    await expect(readBackup(blocksOf(forged))).resolves.toBeTruthy();
    await expect(readBackup(blocksOf(forged), { expectedPublicKey: publicKey })).rejects.toMatchObject({
      code: "BAD_INPUT",
    });
  });

  it("opens a chunk only at its own index, in its own file, with its own key", async () => {
    const chunks: Buffer[] = [];
    const summary = await readBackup(blocksOf(file), { onChunk: (_, payload) => void chunks.push(payload) });
    const salt = Buffer.from(summary.header.salt, "base64");
    const fileKey = deriveFileKey(backupKey, salt);
    expect(() => openChunk(fileKey, 1, summary.headerDigest, chunks[0] as Buffer)).toThrow(
      /chunk 1 does not open/,
    );
    expect(() => openChunk(fileKey, 0, "0".repeat(64), chunks[0] as Buffer)).toThrow(/does not open/);
    expect(() =>
      openChunk(deriveFileKey(randomBytes(32), salt), 0, summary.headerDigest, chunks[0] as Buffer),
    ).toThrow(/does not open/);
    expect(openChunk(fileKey, 0, summary.headerDigest, chunks[0] as Buffer)[0]).toEqual(records[0]);
  });
});

describe("a backup writer disposed half-way (the vault was sealed under it)", () => {
  it("seals nothing more: the chunk being compressed and the trailer are refused, not sealed under a zeroed key", async () => {
    const writer = newWriter();
    writer.start({ audit_entries: 1 });
    // More than a chunk's worth: it is being compressed when the writer is disposed.
    const chunk = writer.add({ table: "audit_entries", row: { details: "x".repeat(1_100_000) } });
    const fileKey = Reflect.get(writer, "fileKey") as Buffer;
    writer.dispose();
    expect(fileKey.every((byte) => byte === 0)).toBe(true);
    await expect(chunk).rejects.toThrow(/abandoned/);
    await expect(writer.finish()).rejects.toThrow(/abandoned/);
  });
});

function frameAt(index: number): Frame {
  const frame = frames.at(index);
  if (!frame) throw new Error(`no frame ${index}`);
  return frame;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
