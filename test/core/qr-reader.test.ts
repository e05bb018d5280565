import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { BreakglassError } from "../../src/core/errors.js";
import { QrReader } from "../../src/services/totp/qr-reader.js";
import { pngOf, qrPicture } from "../support/fuzz-images.js";

/** The QR reader the server uses (issue 14, finding 12): a worker thread, a time limit, a short queue. */

const TEXT = "otpauth://totp/AWS:root?secret=JBSWY3DPEHPK3PXP&issuer=AWS";
const image = pngOf(qrPicture(TEXT));

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: unknown) => error as BreakglassError,
  );

describe("the QR reader", () => {
  it("reads a QR code in a worker thread, and passes on the worker's refusal of a picture without one", async () => {
    const reader = new QrReader();
    expect(await reader.read(image)).toBe(TEXT);
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    const refused = await failure(reader.read(PNG.sync.write(blank)));
    expect(refused).toBeInstanceOf(BreakglassError);
    expect(refused).toMatchObject({ code: "BAD_INPUT", message: "no QR code found in the image" });
  });

  it("refuses an oversized PNG from its header, and bytes that are no image, before a worker starts", async () => {
    const header = PNG.sync.write(new PNG({ width: 1, height: 1 })).subarray(0, 33);
    header.writeUInt32BE(8192, 16);
    header.writeUInt32BE(4096, 20); // 32 MP
    const reader = new QrReader();
    expect(await failure(reader.read(header))).toMatchObject({
      code: "BAD_INPUT",
      message: expect.stringMatching(/^the image is larger than 16 megapixels/),
    });
    expect(await failure(reader.read(Buffer.from("GIF89a")))).toMatchObject({
      message: "the image must be a PNG or a JPEG",
    });
  });

  it("stops a decode that takes longer than its time limit and refuses the image as bad input; the next gets a new worker", async () => {
    const limits = { timeLimitMs: 1, maxWaiting: 3 };
    const reader = new QrReader(limits);
    expect(await failure(reader.read(image))).toMatchObject({
      code: "BAD_INPUT",
      message: "the image took too long to decode: crop it to the QR code",
    });
    limits.timeLimitMs = 20_000;
    expect(await reader.read(image)).toBe(TEXT);
  });

  it("decodes one image at a time with a few waiting; one more is told the server is busy (503)", async () => {
    const reader = new QrReader({ timeLimitMs: 20_000, maxWaiting: 1 });
    const first = reader.read(image);
    const second = reader.read(image);
    const third = await failure(reader.read(image));
    expect(third).toMatchObject({ code: "BUSY", message: expect.stringMatching(/try again/) });
    expect(await Promise.all([first, second])).toEqual([TEXT, TEXT]);
    expect(await reader.read(image)).toBe(TEXT); // the queue empties again
  });
});
