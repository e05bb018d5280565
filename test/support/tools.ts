import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  /** Its fingerprint as GnuPG prints it (upper-case hex). */
  fingerprint: string;
  decrypt(message: Uint8Array): string;
  /** Stops the gpg-agent this home started (it would outlive the test run) and removes the home. */
  dispose(): void;
}

/** A fresh GnuPG home with one RSA key (certify + encrypt subkey), made by gpg itself, no passphrase. */
export function makeGpgKey(name: string): GpgHome {
  const home = tempDir("breakglass-gnupg-");
  const email = `${name}@custodians.example`;
  gpg(home, ["--quick-generate-key", `${name} <${email}>`, "rsa2048", "cert", "never"]);
  const listing = gpg(home, ["--with-colons", "--list-keys", email]).toString();
  const fingerprint = listing
    .split("\n")
    .find((line) => line.startsWith("fpr:"))
    ?.split(":")[9];
  if (!fingerprint) throw new Error("gpg made no key");
  gpg(home, ["--quick-add-key", fingerprint, "rsa2048", "encr", "never"]);
  return {
    home,
    armoredPublicKey: gpg(home, ["--armor", "--export", email]).toString(),
    fingerprint,
    decrypt: (message) => gpg(home, ["--decrypt"], message).toString(),
    dispose: () => {
      execFileSync("gpgconf", ["--homedir", home, "--kill", "all"]);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Runs gpg non-interactively in `home`; throws (with gpg's stderr) when gpg fails. */
export function gpg(home: string, args: string[], input?: Uint8Array): Buffer {
  return execFileSync(
    "gpg",
    ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", ...args],
    {
      env: { ...process.env, GNUPGHOME: home },
      input,
      stdio: "pipe",
    },
  );
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
