import { CliError } from "./output.js";

/**
 * Where a secret comes from: the argument itself, `-` for stdin, or (when omitted) a prompt that
 * does not echo on a terminal, else stdin. Stdin and the prompt keep secrets out of shell history.
 */
export async function readSecret(value: string | boolean | undefined, what: string): Promise<string> {
  if (typeof value === "string" && value !== "-") return value.trim();
  const text = value === "-" || !process.stdin.isTTY ? await readStdin() : await promptHidden(`${what}: `);
  const secret = text.trim();
  if (secret.length === 0) throw new CliError(`no ${what} given`);
  // No secret breakglass takes spans lines: `printf 'pw\npw\n' |` meant the password once, not a
  // two-line password that no later login could type.
  if (/[\r\n]/.test(secret))
    throw new CliError(`the ${what} given holds more than one line: give it once, on one line`);
  return secret;
}

/** The whole of stdin as text (a share piped from `gpg -d`, a token from a password manager). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

const ENTER = new Set(["\r", "\n"]);
const BACKSPACE = new Set(["\u007f", "\b"]);
const CTRL_C = "\u0003";
const CTRL_D = "\u0004";

/** Reads one line from the terminal in raw mode, echoing nothing, so the secret is not on screen. */
function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.setEncoding("utf8");
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = (error: CliError | null) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === CTRL_C) return finish(new CliError("cancelled"));
        if (ENTER.has(char) || char === CTRL_D) return finish(null);
        if (BACKSPACE.has(char)) typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on("data", onData);
  });
}
