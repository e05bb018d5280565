import { Worker } from "node:worker_threads";
import { badInput, busy } from "../core/errors.js";
import { checkQrImage, DECODE_LIMITS, type QrImageKind } from "../core/qr-image.js";

/**
 * Reads the QR code of an uploaded image in a worker thread of its own (qr-reader-worker.cjs), so
 * that decoding a large picture never blocks other requests: one image at a time, a few waiting,
 * each with a memory and a time limit. The image's header is checked here first, so an oversized
 * one is refused before any worker starts.
 */

export interface QrReaderLimits {
  /** How long one decode may take before its worker is stopped and the image refused. */
  timeLimitMs: number;
  /** Images that may wait while one is decoded; beyond, the answer is 503. */
  maxWaiting: number;
}

/** A 16-megapixel image takes 2–5 s on two busy cores; these limits leave room for that. */
const DEFAULT_LIMITS: QrReaderLimits = { timeLimitMs: 20_000, maxWaiting: 3 };
/** The JavaScript heap of a worker; pixels live outside it, bounded by MAX_DECODED_PIXELS. */
const WORKER_HEAP_MB = 128;

interface WorkerReply {
  text?: string;
  refusal?: string;
}

export class QrReader {
  /** The decode under way, or the last one: the next waits for it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Images being decoded or waiting to be. */
  private pending = 0;

  constructor(private readonly limits: QrReaderLimits = DEFAULT_LIMITS) {}

  /** The text of the QR code in a PNG or JPEG; bad input (400) for anything that is not readable. */
  async read(image: Uint8Array): Promise<string> {
    const kind = checkQrImage(image);
    if (this.pending > this.limits.maxWaiting)
      throw busy("too many images are being read: try again in a few seconds");
    this.pending++;
    const turn = this.queue.then(() => this.decode(image, kind)).finally(() => this.pending--);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private decode(image: Uint8Array, kind: QrImageKind): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const worker = new Worker(new URL("./qr-reader-worker.cjs", import.meta.url), {
        workerData: { image, kind, limits: DECODE_LIMITS },
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
      });
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        outcome();
      };
      const timer = setTimeout(
        () => settle(() => reject(badInput("the image took too long to decode: crop it to the QR code"))),
        this.limits.timeLimitMs,
      );
      worker.on("message", (reply: WorkerReply) =>
        settle(() =>
          reply.text !== undefined
            ? resolve(reply.text)
            : reject(badInput(reply.refusal ?? "unreadable image")),
        ),
      );
      worker.on("error", (error: Error & { code?: string }) =>
        settle(() =>
          reject(
            error.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? badInput("the image needs too much memory to decode: crop it to the QR code")
              : error,
          ),
        ),
      );
      worker.on("exit", () =>
        settle(() => reject(new Error("the QR image worker stopped without an answer"))),
      );
    });
  }
}

/** The server's reader: one decode at a time for the whole process. */
export const qrReader = new QrReader();
