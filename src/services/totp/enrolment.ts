import QRCode from "qrcode";
import { enrolmentUri, type TotpDefinition } from "../../core/totp.js";

/** What enrolment shows once: the otpauth URI and its QR code (the credential's, or a person's second factor). */
export interface Enrolment {
  url: string;
  /** Absent when `qr_size` is 0, as in Vault. */
  barcode?: string;
}

const DEFAULT_QR_SIZE = 200;

/** What enrolment shows once: the otpauth URI, and its QR code (PNG, base64; none when `qrSize` is 0). */
export async function enrolmentOf(
  seed: Uint8Array,
  definition: TotpDefinition,
  qrSize = DEFAULT_QR_SIZE,
): Promise<Enrolment> {
  const url = enrolmentUri(seed, definition);
  if (qrSize === 0) return { url };
  return { url, barcode: (await QRCode.toBuffer(url, { type: "png", width: qrSize })).toString("base64") };
}
