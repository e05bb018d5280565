import { execFileSync } from "node:child_process";

/** The tests check breakglass against independent tools; say plainly which are missing. */
export default function checkTools(): void {
  const missing = ["oathtool", "gpg", "qrencode", "zbarimg", "sha256sum", "python3", "jq"].filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0)
    throw new Error(
      `missing test tools: ${missing.join(", ")}. Install them: apt-get install -y oathtool gnupg qrencode zbar-tools jq`,
    );
}
