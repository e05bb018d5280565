import { crc32 } from "node:zlib";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { readQrCode } from "../../src/core/qr-image.js";
import {
  FUZZ_TEST_TIMEOUT_MS,
  fuzzParameters,
  mutatedBytes,
  parseOrRefuse,
  refused,
  skipOutsideSqlitePass,
} from "../support/fuzz.js";
import { jpegOf, noise, pngOf, qrPicture, withNoise } from "../support/fuzz-images.js";

/**
 * QR images (key import, Google export): QR codes made by `qrcode` of random text, with pixel
 * noise, real PNGs and JPEGs cut short or corrupted, and bytes that are no image at all. Pictures
 * are small (2 pixels a module) and noisy ones PNG only (jpeg-js takes ~50 ms to encode one),
 * so that thousands decode in seconds.
 */

const qrText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 80 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 30 }),
  fc.base64String({ minLength: 16, maxLength: 40 }).map((secret) => `otpauth://totp/A:b?secret=${secret}`),
);

/** Any picture without a QR code: random size and pixels, saved in any PNG colour type. */
const randomPng = fc
  .record({
    width: fc.integer({ min: 1, max: 48 }),
    height: fc.integer({ min: 1, max: 48 }),
    colorType: fc.constantFrom(0 as const, 2 as const, 4 as const, 6 as const),
    seed: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  })
  .map(({ width, height, colorType, seed }) => {
    const rgba = Buffer.alloc(width * height * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = seed[i % seed.length] as number;
    return pngOf({ width, height, rgba }, colorType);
  });

const PNG_SIGNATURE = Buffer.from("89504e470d0a1a0a", "hex");
const JPEG_START = Buffer.from("ffd8ff", "hex");
const REAL_TEXTS = [
  "otpauth://totp/AWS:root@acme.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=AWS",
  "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZTAC",
  "breakglass",
];
/** Real images to corrupt: a TOTP enrolment, a Google export and plain text, as PNG and as JPEGs. */
const realImages: { text: string; image: Buffer }[] = [];
const realPngs: Buffer[] = [];

beforeAll(() => {
  for (const text of REAL_TEXTS) {
    const picture = qrPicture(text);
    const png = pngOf(picture);
    realPngs.push(png);
    realImages.push({ text, image: png });
    for (const quality of [40, 85, 100]) realImages.push({ text, image: jpegOf(picture, quality) });
  }
});

/** A PNG with one chunk's bytes changed and its CRC made right again, so the change reaches the decoder. */
const withChunkChanged = (png: Buffer): fc.Arbitrary<Buffer> => {
  const chunks: { at: number; length: number }[] = [];
  for (let at = PNG_SIGNATURE.length; at + 12 <= png.length; at += 12 + png.readUInt32BE(at))
    chunks.push({ at, length: png.readUInt32BE(at) });
  return fc
    .constantFrom(...chunks)
    .chain((chunk) =>
      fc.tuple(fc.constant(chunk), mutatedBytes(png.subarray(chunk.at + 8, chunk.at + 8 + chunk.length))),
    )
    .map(([chunk, data]) => {
      const type = png.subarray(chunk.at + 4, chunk.at + 8);
      const header = Buffer.alloc(4);
      header.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
      return Buffer.concat([
        png.subarray(0, chunk.at),
        header,
        type,
        data,
        crc,
        png.subarray(chunk.at + 12 + chunk.length),
      ]);
    });
};

describe.skipIf(skipOutsideSqlitePass("QR image fuzzing"))("QR images (fuzzed)", () => {
  it("the real images to be corrupted read as their text", () => {
    for (const { text, image } of realImages) expect(readQrCode(image)).toBe(text);
  });

  it(
    "a QR code of any text, in a PNG of any colour type, reads back as that text; with light pixel noise it reads as that text or is refused as bad input",
    () => {
      fc.assert(
        fc.property(
          qrText,
          noise,
          fc.constantFrom(0 as const, 2 as const, 4 as const, 6 as const),
          (text, changes, colorType) => {
            const read = parseOrRefuse(() =>
              readQrCode(pngOf(withNoise(qrPicture(text), changes), colorType)),
            );
            if (changes.length === 0) expect(read).toBe(text);
            else if (read !== refused) expect(read).toBe(text);
          },
        ),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    "any bytes — noise, pictures without a QR code, real PNGs and JPEGs cut short or corrupted — are read or refused as bad input",
    () => {
      const realImage = fc.constantFrom(...realImages).map(({ image }) => image);
      const image = fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.concat([PNG_SIGNATURE, bytes])),
        fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.concat([JPEG_START, bytes])),
        randomPng,
        randomPng.chain(mutatedBytes),
        realImage.chain(mutatedBytes),
        realImage.chain(mutatedBytes).chain(mutatedBytes),
        fc.constantFrom(...realPngs).chain(withChunkChanged),
      );
      fc.assert(
        fc.property(image, (bytes) => {
          parseOrRefuse(() => readQrCode(bytes));
        }),
        fuzzParameters(),
      );
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
