import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The independent tools the tests check breakglass against: oathtool, GnuPG, qrencode. */

export function tempDir(prefix = "breakglass-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** oathtool's TOTP code for a hex seed at a unix time (an independent implementation of RFC 6238). */
export function oathtoolCode(
  seedHex: string,
  options: { algorithm: string; digits: number; period: number; unixSeconds: number },
): string {
  const mode = options.algorithm === "SHA1" ? "totp" : `totp=${options.algorithm.toLowerCase()}`;
  return execFileSync(
    "oathtool",
    [
      `--${mode}`,
      `--digits=${options.digits}`,
      `--time-step-size=${options.period}s`,
      `--now=@${options.unixSeconds}`,
      seedHex,
    ],
    { encoding: "utf8" },
  ).trim();
}

export interface GpgHome {
  home: string;
  /** The custodian's public key, armored, as a custodian would hand it over. */
  armoredPublicKey: string;
  decrypt(message: Uint8Array): string;
}

/** A fresh GnuPG home with one RSA key (sign + encrypt subkey), made by gpg itself, no passphrase. */
export function makeGpgKey(name: string): GpgHome {
  const home = tempDir("breakglass-gnupg-");
  const env = { ...process.env, GNUPGHOME: home };
  const email = `${name}@custodians.example`;
  execFileSync(
    "gpg",
    [
      "--batch",
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      "",
      "--quick-generate-key",
      `${name} <${email}>`,
      "rsa2048",
      "default",
      "never",
    ],
    {
      env,
      stdio: "pipe",
    },
  );
  execFileSync(
    "gpg",
    [
      "--batch",
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      "",
      "--quick-add-key",
      fingerprint(home, email),
      "rsa2048",
      "encr",
      "never",
    ],
    {
      env,
      stdio: "pipe",
    },
  );
  const armoredPublicKey = execFileSync("gpg", ["--armor", "--export", email], { env, encoding: "utf8" });
  return {
    home,
    armoredPublicKey,
    decrypt: (message) =>
      execFileSync("gpg", ["--batch", "--quiet", "--decrypt"], { env, input: message, encoding: "utf8" }),
  };
}

function fingerprint(home: string, email: string): string {
  const listing = execFileSync("gpg", ["--batch", "--with-colons", "--list-keys", email], {
    env: { ...process.env, GNUPGHOME: home },
    encoding: "utf8",
  });
  const line = listing.split("\n").find((l) => l.startsWith("fpr:"));
  if (!line) throw new Error("gpg made no key");
  return line.split(":")[9] as string;
}

/** A PNG of a QR code made by qrencode. */
export function qrencodePng(text: string, dir: string, name = "qr.png"): string {
  const file = join(dir, name);
  execFileSync("qrencode", ["-o", file, "-s", "6", text]);
  return file;
}

export function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}
