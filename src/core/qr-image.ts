import { createRequire } from "node:module";
import { badInput } from "./errors.js";

/**
 * Reading the QR code in a PNG or JPEG (a photo or a screenshot of the page showing it). An image
 * is judged by its header before anything is decoded; the decoding itself is qr-decode.cjs, which
 * the server runs in a worker thread (services/qr-reader.ts) and readQrCode runs in this one.
 */

/**
 * Most pixels decoded, 64 MiB of 8-bit RGBA: a full 5K screenshot (14.7 MP) fits. A 16-bit PNG
 * decodes through twice the memory, so each of its pixels counts twice.
 */
export const MAX_DECODED_PIXELS = 16 * 1024 * 1024;
const DESCRIBED_SIZE = "16 megapixels (a 16-bit PNG counts twice)";

/** What qr-decode.cjs is told: jpeg-js checks a JPEG's own header against these. */
export const DECODE_LIMITS = {
  maxPixels: MAX_DECODED_PIXELS,
  maxJpegMemoryMb: 256,
  describedSize: DESCRIBED_SIZE,
} as const;

export type QrImageKind = "png" | "jpeg";

interface QrDecoder {
  decodeQrText(bytes: Uint8Array, kind: QrImageKind, limits: typeof DECODE_LIMITS): string;
  QrImageRefusal: new (message: string) => Error;
}
const decoder = createRequire(import.meta.url)("./qr-decode.cjs") as QrDecoder;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The bit depths a PNG may have, by colour type (PNG specification, 11.2.2). */
const PNG_BIT_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16], // greyscale
  2: [8, 16], // truecolour
  3: [1, 2, 4, 8], // indexed
  4: [8, 16], // greyscale with alpha
  6: [8, 16], // truecolour with alpha
};

/** The text of the QR code in an image, decoded in this thread (the server uses services/qr-reader.ts). */
export function readQrCode(image: Uint8Array): string {
  const kind = checkQrImage(image);
  try {
    return decoder.decodeQrText(image, kind, DECODE_LIMITS);
  } catch (error) {
    if (error instanceof decoder.QrImageRefusal) throw badInput(error.message);
    throw error;
  }
}

/**
 * What kind of image this is, judged from its first bytes without decoding: a PNG whose header
 * (IHDR) is well-formed and within MAX_DECODED_PIXELS, or a JPEG (jpeg-js refuses an oversized
 * one from its own header). Anything else is refused.
 */
export function checkQrImage(image: Uint8Array): QrImageKind {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE))
    throw badInput("the image must be a PNG or a JPEG");
  if (bytes.length < 33) throw badInput("the image is not a readable PNG");
  // The IHDR chunk comes first: length 13, type, width, height, bit depth, colour type, …, interlace.
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const bitDepth = bytes[24] as number;
  const colourType = bytes[25] as number;
  if (
    bytes.readUInt32BE(8) !== 13 ||
    bytes.toString("latin1", 12, 16) !== "IHDR" ||
    width === 0 ||
    height === 0 ||
    !PNG_BIT_DEPTHS[colourType]?.includes(bitDepth) ||
    (bytes[28] as number) > 1
  )
    throw badInput("the image is not a readable PNG");
  if (imageHeaders(bytes) !== 1)
    throw badInput("the image is not a readable PNG: it has more than one header chunk (IHDR)");
  // The decoder inflates an interlaced image with no bound on its output; no screenshot needs it.
  if (bytes[28] === 1)
    throw badInput("an interlaced PNG is not read: save the screenshot again without interlacing");
  if (width * height * (bitDepth === 16 ? 2 : 1) > MAX_DECODED_PIXELS)
    throw badInput(`the image is larger than ${DESCRIBED_SIZE}: crop it to the QR code`);
  return "png";
}

/**
 * How many IHDR chunks the PNG has, walking the chunks' headers only: the decoder takes a later
 * IHDR's size over the first, checked one, so there must be exactly one.
 */
function imageHeaders(bytes: Buffer): number {
  let headers = 0;
  for (let offset = 8; offset + 8 <= bytes.length; offset += 12 + bytes.readUInt32BE(offset)) {
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    if (type === "IHDR") headers += 1;
    if (type === "IEND") break;
  }
  return headers;
}
