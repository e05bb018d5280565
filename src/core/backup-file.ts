// Over 400 lines: the backup format is one file: its writer and its streaming reader must agree on every byte.
import { createHash, hkdfSync, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { constants, deflate, inflateSync } from "node:zlib";
import { keyIdOf, parsePublicKey, signingKeyFromSeed } from "./audit-checkpoint.js";
import { openBytes, sealBytes } from "./barrier.js";
import { badInput } from "./errors.js";

/**
 * The backup file (docs/backups.md). Binary frames after a magic line:
 *
 *   "BGBACKUP1\n" | header frame | chunk frame × N | trailer frame
 *   frame = u8 type | u32 BE length | payload
 *
 * The header (JSON) holds nothing secret: the keyring in it is already sealed under the root key.
 * Each chunk is AES-256-GCM (nonce | ciphertext | tag) of deflated JSON lines `{table,row}`,
 * under a file key derived from the backup key, with associated data naming the chunk's index
 * and the header it belongs to, so chunks cannot be dropped, reordered or moved between files.
 * The trailer signs the SHA-256 of every byte before it with the audit signing key.
 */

export const BACKUP_FORMAT = 1;
const MAGIC = Buffer.from("BGBACKUP1\n", "latin1");
const FRAME_HEADER = 1;
const FRAME_CHUNK = 2;
const FRAME_TRAILER = 3;
const FRAME_PREFIX_BYTES = 5;
const SALT_BYTES = 32;
const FILE_KEY_INFO = "breakglass backup file v1";
/** Plaintext gathered before a chunk is sealed: large enough to compress well, small enough to stream. */
const CHUNK_TARGET_BYTES = 1024 * 1024;
// Bounds on what a reader accepts, so a damaged length cannot make it buffer gigabytes.
const MAX_FRAME_BYTES: Record<number, number> = {
  [FRAME_HEADER]: 1024 * 1024,
  [FRAME_CHUNK]: 64 * 1024 * 1024,
  [FRAME_TRAILER]: 64 * 1024,
};
/** One row larger than the HTTP body limit cannot exist, so no chunk inflates beyond this. */
const MAX_CHUNK_PLAINTEXT_BYTES = 64 * 1024 * 1024;

/** A row as stored: every column is text or a whole number. */
export type BackupRow = Record<string, string | number | null>;
export interface BackupRecord {
  table: string;
  row: BackupRow;
}

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  /** When the backup was made. */
  created_at: string;
  cluster_id: string;
  /** When the vault was initialised. */
  initialized_at: string;
  /** The migrations of the database it was made from; a restore needs the same. */
  schema: string[];
  secret_shares: number;
  secret_threshold: number;
  pgp_fingerprints: string[];
  /** The keyring, AES-256-GCM under the root key (base64), as stored. */
  sealed_keyring: string;
  /** The Ed25519 key (PEM) that verifies the trailer's signature, and the vault's audit checkpoints. */
  audit_public_key: string;
  /** Salt of the file key (base64). */
  salt: string;
  /** Rows per table. */
  counts: Record<string, number>;
}

/** What the caller gives; the writer adds the format and a fresh salt. */
/** seal_config.restore_pending: what the first unseal needs to open the staged chunks (nothing secret). */
export interface PendingRestore {
  header_sha256: string;
  salt: string;
  chunks: number;
  /** When the backup was made. */
  created_at: string;
  counts: Record<string, number>;
}

/** The pending restore stored at a restore, or null when the text is not one. */
export function parsePendingRestore(text: string): PendingRestore | null {
  try {
    const pending = JSON.parse(text) as PendingRestore;
    if (
      typeof pending.header_sha256 === "string" &&
      typeof pending.salt === "string" &&
      Number.isInteger(pending.chunks) &&
      typeof pending.created_at === "string" &&
      typeof pending.counts === "object"
    )
      return pending;
  } catch {}
  return null;
}

export type BackupHeaderFields = Omit<BackupHeader, "format" | "salt" | "counts">;

interface BackupTrailer {
  chunks: number;
  sha256: string;
  signature: string;
}

/** What a reader found in an intact file. */
export interface BackupSummary {
  header: BackupHeader;
  /** SHA-256 (hex) of the header frame's payload: the chunks' associated data names it. */
  headerDigest: string;
  chunks: number;
  /** SHA-256 (hex) of every byte before the trailer, as signed. */
  signedDigest: string;
  /** The signing key's id (as `breakglass audit public-key` shows it). */
  keyId: string;
}

/** The key that seals the chunks of one file: the backup key, salted by the file's header. */
export function deriveFileKey(backupKey: Uint8Array, salt: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", backupKey, salt, FILE_KEY_INFO, 32));
}

function chunkAad(index: number, headerDigest: string): string {
  return `breakglass-backup v1 chunk ${index} ${headerDigest}`;
}

function signedMessage(digest: string): Buffer {
  return Buffer.from(`breakglass-backup v1 sha256=${digest}`, "utf8");
}

function frame(type: number, payload: Buffer): Buffer {
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt8(type, 0);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Fastest level: the rows are mostly hashes and ciphertexts, which no level compresses much further. */
function deflateAsync(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    deflate(bytes, { level: constants.Z_BEST_SPEED }, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );
}

/**
 * Writes a backup as a sequence of byte blocks (pull them into any stream): `start` gives the
 * magic and the header, `add` a chunk whenever enough rows have gathered, `finish` the last
 * chunk and the signed trailer. The file key is wiped once the trailer is made (or on dispose);
 * a disposed writer makes nothing more, so no chunk is ever sealed under a wiped key.
 */
export class BackupWriter {
  private readonly fileKey: Buffer;
  private readonly signingKey: KeyObject;
  private readonly salt = randomBytes(SALT_BYTES);
  private readonly digest = createHash("sha256");
  private headerDigest: string | null = null;
  private lines: string[] = [];
  private lineBytes = 0;
  private chunks = 0;
  private disposed = false;

  constructor(
    private readonly fields: BackupHeaderFields,
    backupKey: Uint8Array,
    signingSeed: Uint8Array,
  ) {
    this.fileKey = deriveFileKey(backupKey, this.salt);
    this.signingKey = signingKeyFromSeed(signingSeed);
  }

  start(counts: Record<string, number>): Buffer {
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      ...this.fields,
      salt: this.salt.toString("base64"),
      counts,
    };
    const payload = Buffer.from(JSON.stringify(header), "utf8");
    this.headerDigest = sha256Hex(payload);
    return this.hashed(Buffer.concat([MAGIC, frame(FRAME_HEADER, payload)]));
  }

  /** Adds one row; returns a sealed chunk when enough rows have gathered, else null. */
  async add(record: BackupRecord): Promise<Buffer | null> {
    const line = `${JSON.stringify(record)}\n`;
    this.lines.push(line);
    this.lineBytes += Buffer.byteLength(line);
    return this.lineBytes >= CHUNK_TARGET_BYTES ? this.sealChunk() : null;
  }

  /** The rows still gathered and the trailer; the keys are wiped after. */
  async finish(): Promise<Buffer> {
    try {
      if (this.disposed) throw new Error("the backup was abandoned: its key was wiped");
      const last = this.lines.length > 0 ? await this.sealChunk() : Buffer.alloc(0);
      const signedDigest = this.digest.digest("hex");
      const trailer: BackupTrailer = {
        chunks: this.chunks,
        sha256: signedDigest,
        signature: sign(null, signedMessage(signedDigest), this.signingKey).toString("base64"),
      };
      return Buffer.concat([last, frame(FRAME_TRAILER, Buffer.from(JSON.stringify(trailer), "utf8"))]);
    } finally {
      this.dispose();
    }
  }

  /** Wipes the file key (also when the backup is abandoned half-way, or the vault sealed under it). */
  dispose(): void {
    this.disposed = true;
    this.fileKey.fill(0);
  }

  private async sealChunk(): Promise<Buffer> {
    if (this.headerDigest === null) throw new Error("BackupWriter.start must come first");
    const plaintext = Buffer.from(this.lines.join(""), "utf8");
    this.lines = [];
    this.lineBytes = 0;
    const compressed = await deflateAsync(plaintext);
    // Disposed while compressing (the vault was sealed): the key is zeros now, so nothing is sealed.
    if (this.disposed) throw new Error("the backup was abandoned: its key was wiped");
    const sealed = sealBytes(this.fileKey, compressed, chunkAad(this.chunks, this.headerDigest));
    this.chunks += 1;
    return this.hashed(frame(FRAME_CHUNK, sealed));
  }

  private hashed(bytes: Buffer): Buffer {
    this.digest.update(bytes);
    return bytes;
  }
}

/** The rows of one chunk, decrypted with the file key; a chunk that does not open is refused. */
export function openChunk(
  fileKey: Uint8Array,
  index: number,
  headerDigest: string,
  payload: Uint8Array,
): BackupRecord[] {
  let text: string;
  try {
    const compressed = openBytes(fileKey, payload, chunkAad(index, headerDigest));
    text = inflateSync(compressed, { maxOutputLength: MAX_CHUNK_PLAINTEXT_BYTES }).toString("utf8");
  } catch {
    throw badInput(
      `backup chunk ${index} does not open: it was changed, moved from another backup, or the shares are not this backup's`,
    );
  }
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => recordOf(line, index));
}

function recordOf(line: string, index: number): BackupRecord {
  const problem = () => badInput(`backup chunk ${index} holds a line that is not a row`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw problem();
  }
  const record = parsed as Partial<BackupRecord> | null;
  if (typeof record?.table !== "string" || !isPlainObject(record.row)) throw problem();
  for (const value of Object.values(record.row))
    if (value !== null && typeof value !== "string" && typeof value !== "number") throw problem();
  return { table: record.table, row: record.row };
}

const isPlainObject = (value: unknown): value is BackupRow =>
  value !== null && typeof value === "object" && !Array.isArray(value);

export interface ReadBackupOptions {
  /** The verification key (PEM or ssh-ed25519) the backup must be signed with. */
  expectedPublicKey?: string;
  /** Called once the header is read, before any chunk (a restore checks it fits). */
  onHeader?(header: BackupHeader, headerDigest: string): void | Promise<void>;
  /** Called with each chunk's payload, in order, before the file is known to be intact. */
  onChunk?(index: number, payload: Buffer): void | Promise<void>;
}

/**
 * Reads a backup as it streams in and checks it all: magic, frames, the digest of every byte
 * and the trailer's signature. Anything wrong is a BAD_INPUT error saying what. The source's
 * iterator is never returned early, so a request body is not destroyed under its response.
 */
export async function readBackup(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadBackupOptions = {},
): Promise<BackupSummary> {
  const bytes = new ByteReader(
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator](),
  );
  const digest = createHash("sha256");
  const magic = await bytes.take(MAGIC.length);
  if (magic === null || !magic.equals(MAGIC))
    throw badInput(
      bytes.received === 0
        ? "not a breakglass backup: it is empty"
        : "not a breakglass backup: it does not start with BGBACKUP1",
    );
  digest.update(magic);

  const first = await readFrame(bytes);
  if (first.type !== FRAME_HEADER) throw damaged("it does not start with a header");
  digest.update(first.prefix).update(first.payload);
  const header = parseHeader(first.payload);
  const headerDigest = sha256Hex(first.payload);
  const publicKey = headerPublicKey(header);
  if (options.expectedPublicKey !== undefined) {
    const expected = parsePublicKey(options.expectedPublicKey);
    if (keyIdOf(expected) !== keyIdOf(publicKey))
      throw badInput(
        `backup is signed by key ${keyIdOf(publicKey)}, not by the key given (${keyIdOf(expected)})`,
      );
  }
  await options.onHeader?.(header, headerDigest);

  let chunks = 0;
  for (;;) {
    const next = await readFrame(bytes);
    if (next.type === FRAME_TRAILER) {
      const trailer = parseTrailer(next.payload);
      if (!(await bytes.atEnd())) throw damaged("there are bytes after its trailer");
      const signedDigest = digest.digest("hex");
      if (trailer.sha256 !== signedDigest) throw damaged("its digest does not match (changed or truncated)");
      if (trailer.chunks !== chunks)
        throw damaged(`its trailer counts ${trailer.chunks} chunks but it holds ${chunks}`);
      if (!verify(null, signedMessage(signedDigest), publicKey, Buffer.from(trailer.signature, "base64")))
        throw damaged("its signature does not verify with the key in its header (changed or forged)");
      return { header, headerDigest, chunks, signedDigest, keyId: keyIdOf(publicKey) };
    }
    if (next.type !== FRAME_CHUNK) throw damaged(`a second header at byte ${next.offset}`);
    digest.update(next.prefix).update(next.payload);
    await options.onChunk?.(chunks, next.payload);
    chunks += 1;
  }
}

const damaged = (what: string) => badInput(`backup is damaged: ${what}`);

async function readFrame(
  bytes: ByteReader,
): Promise<{ type: number; prefix: Buffer; payload: Buffer; offset: number }> {
  const offset = bytes.offset;
  const prefix = await bytes.take(FRAME_PREFIX_BYTES);
  if (prefix === null) throw damaged("it ends too early (truncated)");
  const type = prefix.readUInt8(0);
  const length = prefix.readUInt32BE(1);
  const limit = MAX_FRAME_BYTES[type];
  if (limit === undefined) throw damaged(`unknown frame type ${type} at byte ${offset}`);
  if (length > limit)
    throw damaged(`a frame of ${length} bytes at byte ${offset} is larger than any backup writes`);
  const payload = await bytes.take(length);
  if (payload === null) throw damaged("it ends too early (truncated)");
  return { type, prefix, payload, offset };
}

function parseJsonObject(payload: Buffer, what: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(payload.toString("utf8"));
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {}
  throw damaged(`its ${what} is not valid JSON`);
}

function parseHeader(payload: Buffer): BackupHeader {
  const header = parseJsonObject(payload, "header");
  if (header.format !== BACKUP_FORMAT)
    throw badInput(
      `backup format ${String(header.format)} is not supported (this version reads format ${BACKUP_FORMAT})`,
    );
  const text = (value: unknown) => typeof value === "string";
  const whole = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;
  const texts = (value: unknown) => Array.isArray(value) && value.every(text);
  const counts = header.counts as Record<string, unknown> | null;
  const valid =
    text(header.created_at) &&
    text(header.cluster_id) &&
    text(header.initialized_at) &&
    texts(header.schema) &&
    whole(header.secret_shares) &&
    whole(header.secret_threshold) &&
    texts(header.pgp_fingerprints) &&
    text(header.sealed_keyring) &&
    text(header.audit_public_key) &&
    text(header.salt) &&
    Buffer.from(header.salt as string, "base64").length === SALT_BYTES &&
    counts !== null &&
    typeof counts === "object" &&
    Object.values(counts).every(whole);
  if (!valid) throw damaged("its header lacks a field or has one of the wrong type");
  return header as unknown as BackupHeader;
}

function headerPublicKey(header: BackupHeader): KeyObject {
  try {
    return parsePublicKey(header.audit_public_key);
  } catch {
    throw damaged("the public key in its header is not an Ed25519 key");
  }
}

/** The trailer must be exactly as a writer makes it, so no byte of it can change unnoticed. */
function parseTrailer(payload: Buffer): BackupTrailer {
  const parsed = parseJsonObject(payload, "trailer");
  const trailer: BackupTrailer = {
    chunks: parsed.chunks as number,
    sha256: parsed.sha256 as string,
    signature:
      typeof parsed.signature === "string" ? Buffer.from(parsed.signature, "base64").toString("base64") : "",
  };
  if (JSON.stringify(trailer) !== payload.toString("latin1") || !Number.isInteger(trailer.chunks))
    throw damaged("its trailer is not as written");
  return trailer;
}

/** Exact-length reads over an async iterator of byte blocks of any size. */
class ByteReader {
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes taken so far. */
  offset = 0;
  /** Bytes the source gave so far. */
  received = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>) {}

  /** The next `length` bytes, or null when the source ends first. */
  async take(length: number): Promise<Buffer | null> {
    if (this.buffered.length < length) {
      const blocks = [this.buffered];
      let have = this.buffered.length;
      while (have < length && !this.ended) {
        const block = await this.pull();
        if (block) {
          blocks.push(block);
          have += block.length;
        }
      }
      this.buffered = Buffer.concat(blocks, have);
    }
    if (this.buffered.length < length) return null;
    const taken = this.buffered.subarray(0, length);
    this.buffered = this.buffered.subarray(length);
    this.offset += length;
    return taken;
  }

  async atEnd(): Promise<boolean> {
    while (this.buffered.length === 0 && !this.ended) this.buffered = (await this.pull()) ?? this.buffered;
    return this.buffered.length === 0;
  }

  private async pull(): Promise<Buffer | null> {
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return null;
    }
    this.received += next.value.byteLength;
    return Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }
}
