import { closeSync, createReadStream, fstatSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { CliError } from "./output.js";

/** Reading the user's input files and writing secret outputs, with errors that name the file. */

export function readInputFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${describeFsError(error)}`);
  }
}

/** A large input file (an audit export) as text chunks, opened first so a missing file is named clearly. */
export async function* streamInputFile(file: string, what: string): AsyncGenerator<string> {
  const fd = openInput(file, what);
  for await (const chunk of createReadStream(file, { fd, encoding: "utf8" })) yield chunk as string;
}

/** A large binary input file (a backup) as byte blocks, and its size. */
export function streamInputBytes(
  file: string,
  what: string,
): { size: number; blocks: AsyncIterable<Buffer> } {
  const fd = openInput(file, what);
  const size = fstatSync(fd).size;
  return { size, blocks: createReadStream(file, { fd }) };
}

function openInput(file: string, what: string): number {
  try {
    const fd = openSync(file, "r");
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error("directory"), { code: "EISDIR" });
    }
    return fd;
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${describeFsError(error)}`);
  }
}

export interface PrivateFile {
  write(content: Uint8Array): void;
  /** Removes the (still empty) file when there turns out to be nothing to write. */
  discard(): void;
}

/**
 * A new file readable by its owner only, created before the secret exists: a seed shown once must not
 * be lost because its file cannot be written. An existing file is never overwritten.
 */
export function createPrivateFile(file: string): PrivateFile {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (error) {
    throw new CliError(`cannot write ${file}: ${describeFsError(error)}`);
  }
  return {
    write(content) {
      writeSync(fd, content);
      closeSync(fd);
    },
    discard() {
      closeSync(fd);
      rmSync(file, { force: true });
    },
  };
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EEXIST") return "it already exists";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code ?? String(error);
}
