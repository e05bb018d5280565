import { execFileSync } from "node:child_process";

/**
 * Once before all test files: the tests check breakglass against independent tools, so say
 * plainly which are missing; and the end-to-end tests run the built CLI, so build it.
 */
export default function prepareTestRun(): void {
  const missing = ["oathtool", "gpg", "gpgconf", "qrencode", "zbarimg", "sha256sum", "python3", "jq"].filter(
    (tool) => {
      try {
        execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
        return false;
      } catch {
        return true;
      }
    },
  );
  if (missing.length > 0)
    throw new Error(
      `missing test tools: ${missing.join(", ")}. Install them: apt-get install -y oathtool gnupg qrencode zbar-tools jq`,
    );
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
