import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { PNG } from "pngjs";
import QRCode from "qrcode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBase32Upper } from "../support/encodings.js";
import { initAndUnseal, startTestServer, type TestServer } from "../support/server.js";

/**
 * Issue 14, finding 12: a 112 KB PNG of 5120×2880 at 16-bit RGBA took 3.9 s to decode on the
 * event loop, holding every other request. Now an image is judged from its header first (at most
 * 16 megapixels, a 16-bit one counting twice) and decoded in a worker thread.
 */

let t: TestServer;
let root: string;

beforeAll(async () => {
  t = await startTestServer();
  root = (await initAndUnseal(t)).rootToken;
});
afterAll(async () => {
  await t.close();
});

const uri = `otpauth://totp/AWS:root@acme.example?secret=${encodeBase32Upper(randomBytes(20))}&issuer=AWS`;

/** A white screen of `width`×`height` RGBA at `bitDepth` bits, with `text`'s QR code drawn on it at 8 pixels a module. */
function screenshot(width: number, height: number, bitDepth: 8 | 16, text?: string): Buffer {
  const bytesPerPixel = bitDepth / 2; // four channels
  const png = new PNG({ width, height, bitDepth, colorType: 6, inputHasAlpha: true });
  png.data = Buffer.alloc(width * height * bytesPerPixel, 0xff);
  if (text) {
    const { size, data } = QRCode.create(text, {}).modules;
    for (let y = 0; y < size * 8; y++)
      for (let x = 0; x < size * 8; x++)
        if (data[Math.floor(y / 8) * size + Math.floor(x / 8)]) {
          const at = ((y + 400) * width + x + 400) * bytesPerPixel;
          png.data.fill(0, at, at + (bytesPerPixel * 3) / 4); // black, opaque
        }
  }
  // No per-row filter search: a flat picture compresses as well without it, and much faster.
  return PNG.sync.write(png, { bitDepth, colorType: 6, inputHasAlpha: true, filterType: 0 });
}

/** Imports `image` as key `name` while GET /v1/sys/health is asked every 20 ms: the answer and the latencies. */
async function importWhileMeasuring(name: string, image: Buffer) {
  let importing = true;
  const latencies: number[] = [];
  const health = (async () => {
    while (importing) {
      const started = performance.now();
      expect((await t.call("GET", "/v1/sys/health")).status).toBe(200);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const started = performance.now();
  const response = await t.call("POST", `/v1/totp/keys/${name}`, {
    token: root,
    body: { qr_image: image.toString("base64") },
  });
  const took = performance.now() - started;
  importing = false;
  await health;
  const sorted = latencies.sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const figure = `${(image.length / 1024).toFixed(0)} KiB image answered ${response.status} in ${took.toFixed(0)} ms; GET /v1/sys/health meanwhile: ${sorted.length} answers, p50 ${p50.toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms`;
  return { response, figure };
}

describe("QR images through the API", () => {
  it("the reported 16-bit RGBA PNG of 5120×2880 is refused from its header, other requests unaffected (figure printed)", async () => {
    const image = screenshot(5120, 2880, 16);
    expect(image.length).toBeLessThan(150 * 1024);
    const { response, figure } = await importWhileMeasuring("sixteen-bit", image);
    console.log(`16-bit 5120×2880: ${figure}`);
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([
      "the image is larger than 16 megapixels (a 16-bit PNG counts twice): crop it to the QR code",
    ]);
    expect((await t.call("GET", "/v1/totp/keys/sixteen-bit", { token: root })).status).toBe(404);
  });

  it("a PNG whose header claims 100000×100000 pixels is refused before any decoding (it holds no pixels at all)", async () => {
    const header = PNG.sync.write(new PNG({ width: 1, height: 1 })).subarray(0, 33);
    header.writeUInt32BE(100_000, 16);
    header.writeUInt32BE(100_000, 20);
    const response = await t.call("POST", "/v1/totp/keys/huge", {
      token: root,
      body: { qr_image: header.toString("base64") },
    });
    expect(response.status).toBe(400);
    expect(response.json.errors[0]).toMatch(/^the image is larger than 16 megapixels/);
  });

  // Found by the attack review: the decoder takes a later IHDR's size, and inflates an interlaced
  // image without bound (a 1 MB PNG claiming 64×64 took the server to 2.25 GB).
  it("a PNG with a second header chunk claiming a larger image, or an interlaced one, is refused before any decoding", async () => {
    const small = PNG.sync.write(new PNG({ width: 64, height: 64 }));
    const bigger = Buffer.from(small.subarray(8, 33)); // the IHDR chunk: length, type, fields, CRC
    bigger.writeUInt32BE(6000, 8);
    bigger.writeUInt32BE(6000, 12);
    bigger[16] = 16;
    const twoHeaders = Buffer.concat([small.subarray(0, 33), withCrc(bigger), small.subarray(33)]);
    const interlaced = Buffer.from(small);
    interlaced[28] = 1;
    interlaced.set(withCrc(interlaced.subarray(8, 33)), 8);
    for (const [name, image, message] of [
      [
        "two-headers",
        twoHeaders,
        "the image is not a readable PNG: it has more than one header chunk (IHDR)",
      ],
      [
        "interlaced",
        interlaced,
        "an interlaced PNG is not read: save the screenshot again without interlacing",
      ],
    ] as const) {
      const response = await t.call("POST", `/v1/totp/keys/${name}`, {
        token: root,
        body: { qr_image: image.toString("base64") },
      });
      expect(response.status, name).toBe(400);
      expect(response.json.errors).toEqual([message]);
    }
  });

  it("a full 5K screenshot at 8 bits is still read — in a worker, other requests unaffected (figure printed)", async () => {
    const { response, figure } = await importWhileMeasuring("five-k", screenshot(5120, 2880, 8, uri));
    console.log(`8-bit 5120×2880 with a QR code: ${figure}`);
    expect(response.status, response.text).toBe(204);
    const key = (await t.call("GET", "/v1/totp/keys/five-k", { token: root })).json.data;
    expect(key).toMatchObject({ issuer: "AWS", account_name: "root@acme.example" });
  });
});

/** A PNG chunk (length, type, data, CRC) with its CRC made again over the type and data. */
function withCrc(chunk: Buffer): Buffer {
  const copy = Buffer.from(chunk);
  copy.writeUInt32BE(crc32(copy.subarray(4, copy.length - 4)), copy.length - 4);
  return copy;
}
