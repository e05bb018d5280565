import { readFileSync } from "node:fs";
import type { ServerOptions as HttpsOptions } from "node:https";
import { createSecureContext } from "node:tls";
import { ServerConfigError } from "./config-error.js";

/**
 * The TLS the server speaks: TLS 1.2 at least (1.3 with `tls_min_version: "tls13"`), and only
 * AEAD ciphers with forward secrecy — ECDHE with AES-GCM or ChaCha20-Poly1305; no CBC, RC4, 3DES
 * or static RSA key exchange. TLS 1.3's suites all qualify. docs/operations.md lists them.
 */

/** Vault's names for the setting (its listener's tls_min_version). */
export const TLS_MIN_VERSIONS = { tls12: "TLSv1.2", tls13: "TLSv1.3" } as const;
export type TlsMinVersion = keyof typeof TLS_MIN_VERSIONS;

export const TLS_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Node's HTTPS options for a certificate and key in PEM files; refused clearly when they do not do. */
export function tlsServerOptions(certFile: string, keyFile: string, minVersion: TlsMinVersion): HttpsOptions {
  const options: HttpsOptions = {
    cert: readPem(certFile, "--tls-cert"),
    key: readPem(keyFile, "--tls-key"),
    minVersion: TLS_MIN_VERSIONS[minVersion],
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
  try {
    createSecureContext(options);
  } catch (error) {
    throw new ServerConfigError(
      `--tls-cert and --tls-key do not make a TLS key pair: ${(error as Error).message}`,
    );
  }
  return options;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ServerConfigError(`cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
}
