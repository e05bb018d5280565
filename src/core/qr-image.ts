import jpeg from "jpeg-js";
import jsQRModule from "jsqr";
import { PNG } from "pngjs";
import { badInput } from "./errors.js";

/** Largest screenshot we decode: a 5K display, full screen. Bigger images are refused, not squeezed. */
const MAX_PIXELS = 5120 * 2880;
const MAX_JPEG_MEMORY_MB = 256;

// jsqr is CommonJS whose typings claim an ES default export; at run time the module itself is the function.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

interface Rgba {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** The text of the QR code in a PNG or JPEG image (a photo or a screenshot of the page showing it). */
export function readQrCode(image: Uint8Array): string {
  const rgba = decodeImage(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
  const found = jsQR(rgba.data, rgba.width, rgba.height, { inversionAttempts: "attemptBoth" });
  if (!found || found.data.length === 0) throw badInput("no QR code found in the image");
  return found.data;
}

function decodeImage(bytes: Buffer): Rgba {
  if (isPng(bytes)) {
    checkPngSize(bytes);
    try {
      const png = PNG.sync.read(bytes);
      return {
        data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
        width: png.width,
        height: png.height,
      };
    } catch {
      throw badInput("the image is not a readable PNG");
    }
  }
  if (isJpeg(bytes)) {
    try {
      const picture = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_PIXELS / 1e6,
        maxMemoryUsageInMB: MAX_JPEG_MEMORY_MB,
      });
      return {
        data: new Uint8ClampedArray(picture.data.buffer, picture.data.byteOffset, picture.data.length),
        width: picture.width,
        height: picture.height,
      };
    } catch {
      throw badInput("the image is not a readable JPEG (or it is larger than a 5K screenshot)");
    }
  }
  throw badInput("the image must be a PNG or a JPEG");
}

function isPng(bytes: Buffer): boolean {
  return (
    bytes.length > 24 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  );
}

function isJpeg(bytes: Buffer): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Reads width and height from the IHDR chunk before decoding, so a decompression bomb is refused cheaply. */
function checkPngSize(bytes: Buffer): void {
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0) throw badInput("the image is not a readable PNG");
  if (width * height > MAX_PIXELS)
    throw badInput("the image is larger than a 5K screenshot; crop it to the QR code");
}
