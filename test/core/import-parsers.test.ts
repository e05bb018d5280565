import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { BreakglassError } from "../../src/core/errors.js";
import { parseMigrationUri } from "../../src/core/google-migration.js";
import { parseOtpauthUri } from "../../src/core/otpauth-uri.js";
import { readQrCode } from "../../src/core/qr-image.js";
import { encodeBase32Upper } from "../support/encodings.js";
import { migrationUri } from "../support/google-export.js";
import { qrencodePng, tempDir } from "../support/tools.js";

/** Runs `parse` and says whether it either succeeded or refused with a user-facing error. */
function failsCleanly(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (error) {
    return error instanceof BreakglassError && error.code === "BAD_INPUT";
  }
}

describe("otpauth:// URIs", () => {
  it("give the seed and parameters", () => {
    const key = parseOtpauthUri(
      "otpauth://totp/ACME%20Co:john@example.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60",
    );
    expect(key).toMatchObject({
      issuer: "ACME Co",
      accountName: "john@example.com",
      algorithm: "SHA256",
      digits: 8,
      period: 60,
    });
    expect(key.seed.length).toBe(20);
  });

  it.each([
    ["not a uri", /valid otpauth/],
    ["https://example.com/?secret=JBSWY3DPEHPK3PXP", /otpauth:\/\//],
    ["otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", /HOTP/],
    ["otpauth://totp/x?issuer=a", /no secret/],
    ["otpauth://totp/x?secret=JBSWY3DP!!", /base32/],
    ["otpauth://totp/x?secret=JBSWY3DP", /too short/],
    ["otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", /algorithm/],
    ["otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=7", /digits/],
    ["otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0", /period/],
  ])("refuse %s clearly", (uri, message) => {
    expect(() => parseOtpauthUri(uri)).toThrowError(message);
  });

  it("never fail with anything but a clear refusal, whatever the input (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl(),
          fc.string().map((s) => `otpauth://totp/${s}`),
        ),
        (text) => failsCleanly(() => parseOtpauthUri(text)),
      ),
    );
  });
});

describe("Google Authenticator exports", () => {
  const secrets = [randomBytes(20), randomBytes(20), randomBytes(32)];

  it("give every TOTP account with its parameters", () => {
    const result = parseMigrationUri(
      migrationUri([
        { secret: secrets[0] as Buffer, name: "AWS:root@acme.example", issuer: "AWS" },
        { secret: secrets[1] as Buffer, name: "registrar-owner", issuer: "" },
        {
          secret: secrets[2] as Buffer,
          name: "GitHub:acme-owner",
          issuer: "GitHub",
          algorithm: 2,
          digits: 2,
        },
      ]),
    );
    expect(result.keys.map((k) => [k.issuer, k.accountName, k.algorithm, k.digits])).toEqual([
      ["AWS", "root@acme.example", "SHA1", 6],
      ["", "registrar-owner", "SHA1", 6],
      ["GitHub", "acme-owner", "SHA256", 8],
    ]);
    expect(result.keys.map((k) => k.seed.toString("hex"))).toEqual(secrets.map((s) => s.toString("hex")));
  });

  it("skip HOTP and MD5 accounts, naming them", () => {
    const result = parseMigrationUri(
      migrationUri([
        { secret: randomBytes(20), name: "counter", issuer: "X", type: 1 },
        { secret: randomBytes(20), name: "old", issuer: "Y", algorithm: 4 },
      ]),
    );
    expect(result.keys).toHaveLength(0);
    expect(result.skipped.map((s) => s.label)).toEqual(["X:counter", "Y:old"]);
  });

  it("refuse what is not an export", () => {
    expect(() => parseMigrationUri("otpauth://totp/x?secret=A")).toThrow(/otpauth-migration/);
    expect(() => parseMigrationUri("otpauth-migration://offline")).toThrow(/no data/);
    expect(() => parseMigrationUri("otpauth-migration://offline?data=AAAA%2F%2F%2F%2F")).toThrow(
      /does not decode|no accounts/,
    );
  });

  it("never fail with anything but a clear refusal on random payloads (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        failsCleanly(() =>
          parseMigrationUri(
            `otpauth-migration://offline?data=${encodeURIComponent(Buffer.from(bytes).toString("base64"))}`,
          ),
        ),
      ),
    );
  });
});

describe("QR images", () => {
  const dir = tempDir();
  const uri = `otpauth://totp/AWS:root?secret=${encodeBase32Upper(randomBytes(20))}&issuer=AWS`;

  it("read a PNG made by qrencode", () => {
    expect(readQrCode(readFileSync(qrencodePng(uri, dir)))).toBe(uri);
  });

  it("read the same QR as a JPEG screenshot", () => {
    const png = PNG.sync.read(readFileSync(qrencodePng(uri, dir, "for-jpeg.png")));
    const jpg = jpeg.encode({ data: png.data, width: png.width, height: png.height }, 90).data;
    expect(readQrCode(jpg)).toBe(uri);
  });

  it("refuse a PNG without a QR code, and bytes that are no image", () => {
    const blank = new PNG({ width: 64, height: 64 });
    blank.data.fill(255);
    expect(() => readQrCode(PNG.sync.write(blank))).toThrow(/no QR code found/);
    expect(() => readQrCode(Buffer.from("GIF89a not really"))).toThrow(/PNG or a JPEG/);
    expect(() =>
      readQrCode(Buffer.concat([PNG.sync.write(blank).subarray(0, 40), Buffer.alloc(20)])),
    ).toThrow(/readable PNG/);
  });

  it("refuse a PNG whose header claims a huge picture before decoding it", () => {
    const header = PNG.sync.write(new PNG({ width: 1, height: 1 }));
    header.writeUInt32BE(100000, 16);
    header.writeUInt32BE(100000, 20);
    expect(() => readQrCode(header)).toThrow(/larger than/);
  });
});
