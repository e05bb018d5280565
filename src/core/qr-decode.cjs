// Decodes a PNG or JPEG and reads the QR code in it: the work of qr-image.ts, in plain CommonJS so
// that the same code runs in the worker that reads an uploaded image off the server's event loop
// (services/qr-reader-worker.cjs) and in the caller's thread (readQrCode: the decoding tests and
// fuzzers), from src/ (tests) and dist/ alike. The image's size was checked from its header
// before it came here (qr-image.ts checkQrImage).
const jpeg = require("jpeg-js");
const jsQR = require("jsqr");
const { PNG } = require("pngjs");

/** A refusal the caller answers as bad input; its message is user-facing. */
class QrImageRefusal extends Error {}

/**
 * The text of the QR code in `bytes`, of `kind` "png" or "jpeg". `limits` bounds what jpeg-js
 * may decode (a JPEG's header is read by jpeg-js itself, which refuses it before decoding).
 */
function decodeQrText(bytes, kind, limits) {
  const rgba = decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), kind, limits);
  const found = jsQR(rgba.data, rgba.width, rgba.height, { inversionAttempts: "attemptBoth" });
  if (!found || found.data.length === 0) throw new QrImageRefusal("no QR code found in the image");
  return found.data;
}

function decodeImage(bytes, kind, limits) {
  if (kind === "png") {
    try {
      const png = PNG.sync.read(bytes);
      return {
        data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
        ...sizeOf(png),
      };
    } catch {
      throw new QrImageRefusal("the image is not a readable PNG");
    }
  }
  try {
    const picture = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: limits.maxPixels / 1e6,
      maxMemoryUsageInMB: limits.maxJpegMemoryMb,
    });
    return {
      data: new Uint8ClampedArray(picture.data.buffer, picture.data.byteOffset, picture.data.length),
      ...sizeOf(picture),
    };
  } catch {
    throw new QrImageRefusal(
      `the image is not a readable JPEG (or it is larger than ${limits.describedSize})`,
    );
  }
}

const sizeOf = (picture) => ({ width: picture.width, height: picture.height });

module.exports = { decodeQrText, QrImageRefusal };
