import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { tempDir } from "../support/tools.js";

/** The TLS the server speaks, checked with Debian's openssl s_client: versions, ciphers, HSTS. */

let certFile: string;
let keyFile: string;
let tls12: TestServer;
let tls13: TestServer;

beforeAll(async () => {
  const dir = tempDir("breakglass-tls-");
  certFile = join(dir, "cert.pem");
  keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
    ].concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
    { stdio: "pipe" },
  );
  tls12 = await startTestServer({ tls: { certFile, keyFile } });
  tls13 = await startTestServer({ tls: { certFile, keyFile, minVersion: "tls13" } });
});
afterAll(async () => {
  await tls12?.close();
  await tls13?.close();
});

/** `openssl s_client` against a server with the given options: whether the handshake succeeded, and what it printed. */
function handshake(server: TestServer, options: string[]): Promise<{ ok: boolean; output: string }> {
  const { port } = new URL(server.server.url);
  const client = spawn("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
    ...options,
  ]);
  let output = "";
  client.stdout.on("data", (chunk) => (output += chunk));
  client.stderr.on("data", (chunk) => (output += chunk));
  client.stdin.end();
  return new Promise((resolve) => client.once("close", (code) => resolve({ ok: code === 0, output })));
}

/** The client may offer old protocols and ciphers (OpenSSL's own floor is lowered), so a refusal is the server's. */
const ANYTHING = "DEFAULT:@SECLEVEL=0";

describe("TLS", () => {
  it.each([
    ["-tls1_2", "TLSv1.2"],
    ["-tls1_3", "TLSv1.3"],
  ])("%s is accepted, with an ECDHE or TLS 1.3 AEAD suite", async (flag, version) => {
    const { ok, output } = await handshake(tls12, [flag]);
    expect(ok).toBe(true);
    const cipher = output.match(new RegExp(`New, ${version}, Cipher is (\\S+)`))?.[1];
    expect(cipher).toMatch(
      /^(ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)|TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+)$/,
    );
  });

  it.each(["-tls1", "-tls1_1"])("%s is refused by the server: protocol version alert", async (flag) => {
    const { ok, output } = await handshake(tls12, [flag, "-cipher", ANYTHING]);
    expect(ok).toBe(false);
    expect(output).toMatch(/alert protocol version/);
  });

  it.each([
    ["CBC", "ECDHE-RSA-AES128-SHA256"],
    ["CBC with SHA-1", "ECDHE-RSA-AES256-SHA"],
    ["static RSA key exchange, no forward secrecy", "AES128-GCM-SHA256"],
    ["static RSA with CBC", "AES256-SHA"],
  ])("TLS 1.2 with %s (%s) is refused: handshake failure", async (_what, cipher) => {
    const { ok, output } = await handshake(tls12, ["-tls1_2", "-cipher", `${cipher}:@SECLEVEL=0`]);
    expect(ok).toBe(false);
    expect(output).toMatch(/alert handshake failure/);
  });

  it("tls_min_version tls13 refuses TLS 1.2 and accepts TLS 1.3", async () => {
    const refused = await handshake(tls13, ["-tls1_2"]);
    expect(refused.ok).toBe(false);
    expect(refused.output).toMatch(/alert protocol version/);
    expect((await handshake(tls13, ["-tls1_3"])).ok).toBe(true);
  });

  it("a key that is not the certificate's is refused at start, naming the problem", async () => {
    const otherKey = join(tempDir("breakglass-tls-"), "other.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "RSA", "-out", otherKey], { stdio: "pipe" });
    await expect(startTestServer({ tls: { certFile, keyFile: otherKey } })).rejects.toThrow(
      /^--tls-cert and --tls-key do not make a TLS key pair: .*key values mismatch/,
    );
  });

  it("answers over TLS carry Strict-Transport-Security, besides the other security headers", async () => {
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const outgoing = request(
        `${tls12.server.url}/v1/sys/health`,
        { ca: readFileSync(certFile), servername: "localhost" },
        (response) => {
          response.resume();
          resolve(response.headers);
        },
      );
      outgoing.on("error", reject);
      outgoing.end();
    });
    expect(headers["strict-transport-security"]).toBe("max-age=63072000");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["cache-control"]).toBe("no-store");
  });
});
