import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { CliError } from "./output.js";

/** What the provider sent the browser back with. */
export interface ProviderAnswer {
  state: string;
  code?: string;
  iss?: string;
  error?: string;
  error_description?: string;
}

/** How long the CLI waits for the browser: the sign-in's state lasts as long on the server. */
const WAIT_MS = 10 * 60 * 1000;
export const CALLBACK_PATH = "/oidc/callback";

/**
 * Vault's CLI flow for a sign-in: a listener on a loopback port takes the browser back from the
 * provider (RFC 8252), hands its query to `finish`, and shows the browser how it ended. It listens
 * on loopback only, takes one answer, and closes.
 */
export async function awaitProviderAnswer(
  port: number,
  started: (redirectUri: string) => Promise<void>,
  finish: (answer: ProviderAnswer) => Promise<string>,
): Promise<string> {
  let settle: { resolve: (value: string) => void; reject: (error: unknown) => void } | undefined;
  const done = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let answered = false;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== CALLBACK_PATH || answered) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    answered = true;
    const params = Object.fromEntries(url.searchParams);
    const answer: ProviderAnswer = { ...params, state: params.state ?? "" };
    finish(answer).then(
      (message) => {
        page(response, 200, message);
        settle?.resolve(message);
      },
      (error: unknown) => {
        page(response, 400, error instanceof Error ? error.message : "the sign-in failed");
        settle?.reject(error);
      },
    );
  });
  await listen(server, port);
  const timer = setTimeout(
    () => settle?.reject(new CliError("no answer from the browser within 10 minutes: run the login again")),
    WAIT_MS,
  );
  try {
    await started(`http://localhost:${port}${CALLBACK_PATH}`);
    return await done;
  } finally {
    clearTimeout(timer);
    server.close();
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          error.code === "EADDRINUSE"
            ? `port ${port} on 127.0.0.1 is in use: give another with --port (the role's allowed_redirect_uris must allow http://localhost/oidc/callback)`
            : `cannot listen on 127.0.0.1:${port} for the browser's return: ${error.message}`,
        ),
      ),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

function page(response: import("node:http").ServerResponse, status: number, message: string): void {
  const text = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  response
    .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
    .end(`<!doctype html><title>breakglass</title><p>${text}</p><p>You may close this window.</p>\n`);
}

/** Opens the URL in the person's browser where there is one; false when there is none to open. */
export function openBrowser(url: string): boolean {
  const command =
    process.platform === "darwin"
      ? "open"
      : process.platform === "win32"
        ? "explorer"
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
          ? "xdg-open"
          : null;
  if (!command) return false;
  try {
    const child = spawn(command, [url], { detached: true, stdio: "ignore" });
    child.on("error", () => {}); // no opener installed: the URL is printed anyway
    child.unref();
    return true;
  } catch {
    return false;
  }
}
