import { Worker } from "node:worker_threads";
import { badInput, busy } from "../../core/errors.js";
import { checkQrImage, DECODE_LIMITS, type QrImageKind } from "../../core/qr-image.js";

/**
 * Reads the QR code of an uploaded image in a worker thread (qr-reader-worker.cjs), so that
 * decoding a large picture never blocks other requests: one image at a time, a few waiting, with
 * a memory limit on the worker and a time limit on each decode. The image's header is checked
 * here first, so an oversized one is refused before it reaches the worker.
 */

export interface QrReaderLimits {
  /** How long one decode may take before the worker is stopped and the image refused. */
  timeLimitMs: number;
  /** Images that may wait while one is decoded; beyond, the answer is 503. */
  maxWaiting: number;
}

/** A 16-megapixel image takes 2–6 s on two busy cores; these limits leave room for that. */
const DEFAULT_LIMITS: QrReaderLimits = { timeLimitMs: 20_000, maxWaiting: 3 };
/** The worker's JavaScript heap; pixels live outside it, bounded by MAX_DECODED_PIXELS. */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16 };

interface WorkerReply {
  text?: string;
  refusal?: string;
}

export class QrReader {
  /** Started with the first image and kept (unreferenced when idle); replaced after it is stopped. */
  private worker: Worker | null = null;
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
    const worker = this.worker ?? this.startWorker();
    return new Promise<string>((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        if (this.worker === worker) worker.unref(); // idle: it keeps no process alive
        outcome();
      };
      const onMessage = (reply: WorkerReply) =>
        finish(() =>
          reply.text !== undefined
            ? resolve(reply.text)
            : reject(badInput(reply.refusal ?? "the image could not be decoded")),
        );
      const onError = (error: Error & { code?: string }) => {
        this.stop(worker);
        finish(() =>
          reject(
            error.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? badInput("the image needs too much memory to decode: crop it to the QR code")
              : error,
          ),
        );
      };
      const onExit = () => {
        this.stop(worker);
        finish(() => reject(new Error("the QR image worker stopped without an answer")));
      };
      const timer = setTimeout(() => {
        this.stop(worker);
        finish(() => reject(badInput("the image took too long to decode: crop it to the QR code")));
      }, this.limits.timeLimitMs);
      worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      worker.ref(); // a decode under way keeps the process alive
      worker.postMessage({ image, kind });
    });
  }

  private startWorker(): Worker {
    const worker = new Worker(new URL("./qr-reader-worker.cjs", import.meta.url), {
      workerData: { limits: DECODE_LIMITS },
      resourceLimits: WORKER_RESOURCE_LIMITS,
    });
    // Nothing runs there between decodes; should it fail or stop anyway, the next image gets a new one.
    worker.on("error", () => this.stop(worker)).on("exit", () => this.stop(worker));
    this.worker = worker;
    return worker;
  }

  /** Stops a worker (mid-decode, or broken); the next image starts a new one. */
  private stop(worker: Worker): void {
    if (this.worker === worker) this.worker = null;
    void worker.terminate();
  }
}

/** The server's reader: one decode at a time for the whole process. */
export const qrReader = new QrReader();
