import fc from "fast-check";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import QRCode from "qrcode";

/** QR pictures for the fuzzers: made by `qrcode`, drawn small (2 pixels a module), with noise, as PNG or JPEG. */

const PIXELS_PER_MODULE = 2;
const QUIET_MODULES = 2;

export interface Picture {
  width: number;
  height: number;
  rgba: Buffer;
}

/** The QR code of `text` as pixels: 2 pixels a module, a quiet zone of 2 modules, black on white. */
export function qrPicture(text: string): Picture {
  const { size, data } = QRCode.create(text, {}).modules;
  const width = (size + 2 * QUIET_MODULES) * PIXELS_PER_MODULE;
  const rgba = Buffer.alloc(width * width * 4, 255);
  for (let y = 0; y < width; y++)
    for (let x = 0; x < width; x++) {
      const row = Math.floor(y / PIXELS_PER_MODULE) - QUIET_MODULES;
      const column = Math.floor(x / PIXELS_PER_MODULE) - QUIET_MODULES;
      const dark = row >= 0 && row < size && column >= 0 && column < size && data[row * size + column];
      if (dark) rgba.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
    }
  return { width, height: width, rgba };
}

export function pngOf({ width, height, rgba }: Picture, colorType: 0 | 2 | 4 | 6 = 6): Buffer {
  const png = new PNG({ width, height });
  rgba.copy(png.data);
  return PNG.sync.write(png, { colorType });
}

export function jpegOf({ width, height, rgba }: Picture, quality: number): Buffer {
  return Buffer.from(jpeg.encode({ data: rgba, width, height }, quality).data);
}

/** Light noise: a few pixels (up to 1 in 50) set to random grey levels. */
export const noise = fc.array(
  fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 0, max: 255 })),
  {
    maxLength: 200,
  },
);

export function withNoise(picture: Picture, changes: [number, number][]): Picture {
  const rgba = Buffer.from(picture.rgba);
  const pixels = picture.width * picture.height;
  for (const [where, grey] of changes.slice(0, Math.ceil(pixels / 50))) {
    const at = Math.floor(where * pixels) * 4;
    rgba.fill(grey, at, at + 3);
  }
  return { ...picture, rgba };
}
