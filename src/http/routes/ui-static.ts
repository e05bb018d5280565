import { readFile, realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";
import { sendError } from "../errors.js";

/**
 * The web UI's files (built by Vite into dist/ui/), under the UI's content security policy
 * (security-headers.ts) and, but for hashed assets, uncached. They answer while sealed (the
 * unseal screen is part of the UI) and need no token: the API behind them does.
 */

/** The package's dist/ui/, whether this module runs compiled (dist/http/routes/) or from source (src/http/routes/). */
export const DEFAULT_UI_DIRECTORY = fileURLToPath(new URL("../../../dist/ui", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** Vite puts a content hash in every name under assets/, so a name never changes its bytes. */
const IMMUTABLE = "public, max-age=31536000, immutable";
const NOT_BUILT = "the web UI is not built: run npm run build";

export function uiStaticRoutes(app: FastifyInstance, directory = DEFAULT_UI_DIRECTORY): void {
  const root = resolve(directory);
  const options = { config: { sealedOk: true, webUi: true }, schema: { hide: true } };

  app.get("/", options, async (_request, reply) => reply.redirect("/ui/", 302));
  app.get("/ui", options, async (_request, reply) => reply.redirect("/ui/", 302));
  app.get("/ui/*", options, async (request, reply) => {
    const relative = uiPathOf(request.url);
    if (relative === null) return notFound(reply);
    const type = CONTENT_TYPES[extname(relative)];
    // Anything that is not a file we serve is a route of the single-page app.
    if (type === undefined || relative === "index.html") {
      const page = await readInside(root, "index.html");
      if (page === null) return sendError(reply, "UI_NOT_BUILT", [NOT_BUILT]);
      return reply.type(CONTENT_TYPES[".html"] as string).send(page);
    }
    const file = await readInside(root, relative);
    if (file === null) return notFound(reply);
    if (relative.startsWith("assets/")) reply.header("cache-control", IMMUTABLE);
    return reply.type(type).send(file);
  });
}

/**
 * The path below /ui/ as safe segments, or null: no `..` or `.` segment, no hidden file, no
 * encoded slash or backslash, no NUL or other control character, nothing that fails to decode.
 */
function uiPathOf(url: string): string | null {
  const raw = (url.split("?")[0] ?? "").slice("/ui/".length);
  if (/%2f|%5c|\\/i.test(raw)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (decoded === "") return "index.html";
  const segments = decoded.split("/");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  const unsafe = (segment: string) => segment.startsWith(".") || /[\u0000-\u001f\u007f]/.test(segment);
  return segments.some(unsafe) ? null : segments.filter((segment) => segment !== "").join("/");
}

/** A regular file's bytes, when it really lies inside `root` (after symbolic links), else null. */
async function readInside(root: string, relative: string): Promise<Buffer | null> {
  const path = resolve(root, relative);
  if (!path.startsWith(root + sep)) return null;
  try {
    const real = await realpath(path);
    if (!real.startsWith((await realpath(root)) + sep) || !(await stat(real)).isFile()) return null;
    return await readFile(real);
  } catch {
    return null; // missing, unreadable, or the directory itself is missing
  }
}

function notFound(reply: FastifyReply) {
  return sendError(reply, "NOT_FOUND", ["no such file in the web UI"]);
}
