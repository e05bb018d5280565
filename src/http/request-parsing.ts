import type { FastifyInstance } from "fastify";
import { badInput } from "../core/errors.js";

// No API field needs a NUL and PostgreSQL's text cannot hold one: refused at the door, on either
// engine. In JSON it can only be an escape (raw control characters are not JSON): \u0000 not itself
// escaped, that is after an even run of backslashes.
const JSON_NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/i;
const URL_NUL_ESCAPE = /%00/;

/**
 * The query parameter whose text reads as an infinite number (1e999), if any: the schemas'
 * coercion takes it for an integer within any bounds (?limit=1e999 reached the database).
 */
function infiniteQueryParameter(query: unknown): string | null {
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>))
    for (const text of Array.isArray(value) ? value : [value])
      if (typeof text === "string" && Math.abs(Number(text)) === Number.POSITIVE_INFINITY) return name;
  return null;
}

/**
 * How a request's body and query are read before any route sees them: JSON whatever the
 * Content-Type, as Vault; no NUL anywhere; no query number that reads as infinite.
 */
export function installRequestParsing(app: FastifyInstance): void {
  // As Vault: a body is JSON whatever its Content-Type (curl --data sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body).trim();
    if (text.length === 0) return done(null, {});
    if (JSON_NUL_ESCAPE.test(text))
      return done(badInput("the request body must not contain NUL characters (\\u0000)"), undefined);
    try {
      const parsed = JSON.parse(text);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        return done(badInput("the request body must be a JSON object"), undefined);
      done(null, parsed);
    } catch {
      done(badInput("the request body is not valid JSON"), undefined);
    }
  });

  app.addHook("preValidation", async (request) => {
    if (request.url.startsWith("/v1/") && URL_NUL_ESCAPE.test(request.url))
      throw badInput("the URL must not contain NUL characters (%00)");
    const infinite = infiniteQueryParameter(request.query);
    if (infinite !== null) throw badInput(`querystring.${infinite} must be a finite number`);
  });
}
