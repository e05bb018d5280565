/// <reference lib="es2024.string" />
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { badInput, notFound } from "../core/errors.js";

/**
 * The door: how a request's URL, headers and body are read before any route or service sees them.
 * Unknown routes are answered before their body is read; text is well-formed Unicode or refused
 * (the audit chain hashes what it is given, and a store cannot hold a lone surrogate); bodies are
 * JSON whatever the Content-Type, as Vault, and never nested deeper than a few levels.
 */

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The body is read as Vault reads it (Go's JSON into a struct): an optional field sent as
     * `null`, or as "" where it is text, is taken as not given (absentFieldsDropped).
     */
    vaultShaped?: boolean;
  }
}

/** Deeper than any body the API takes (an audit sink's options: 3 or 4), far below what costs time. */
const MAX_JSON_DEPTH = 32;

// No API field needs a NUL and PostgreSQL's text cannot hold one: refused at the door, on either
// engine. In JSON it can only be an escape (raw control characters are not JSON): \u0000 not itself
// escaped, that is after an even run of backslashes.
const JSON_NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/i;
const URL_NUL_ESCAPE = /%00/;
/** Runs of %-escapes: each run is bytes that must read as UTF-8 (one character may span several). */
const PERCENT_ESCAPE_RUN = /(?:%[0-9a-f]{2})+/gi;
/**
 * What is still read, and dropped, of a refused request's body, so that a client that sends all
 * of it before reading (most libraries do) hears the answer; beyond this the connection is cut.
 * More than any route's JSON limit, and only ever counted, never kept.
 */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
/** Headers whose text reaches the record (the reason of a read, the user agent on every entry). */
const TEXT_HEADERS = ["x-breakglass-reason", "user-agent"] as const;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of UTF-8 bytes, or null when they are not UTF-8 (overlong forms, encoded surrogates, stray bytes). */
function utf8Text(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Whether JSON text opens more than `limit` arrays or objects inside one another: one pass over
 * the characters, skipping strings as JSON does, so JSON.parse never starts on a bomb of brackets.
 */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Where a parsed body holds a string that is not well-formed UTF-16 (a lone surrogate, which
 * JSON lets through as an escape such as \ud800), in a key or a value: `body.a.b`, or null.
 */
function illFormedTextIn(value: unknown, path: string): string | null {
  if (typeof value === "string") return value.isWellFormed() ? null : path;
  if (value === null || typeof value !== "object") return null;
  for (const [key, inner] of Object.entries(value)) {
    if (!key.isWellFormed()) return `a key in ${path}`;
    const found = illFormedTextIn(inner, `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}

function parseJsonBody(bytes: Buffer): Record<string, unknown> {
  const text = utf8Text(bytes)?.trim();
  if (text === undefined) throw badInput("the request body is not valid UTF-8");
  if (text.length === 0) return {};
  if (JSON_NUL_ESCAPE.test(text))
    throw badInput("the request body must not contain NUL characters (\\u0000)");
  if (nestedDeeperThan(text, MAX_JSON_DEPTH))
    throw badInput(`the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badInput("the request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw badInput("the request body must be a JSON object");
  const illFormed = illFormedTextIn(parsed, "body");
  if (illFormed !== null)
    throw badInput(`${illFormed} is not well-formed Unicode text (a lone surrogate such as \\ud800)`);
  return parsed as Record<string, unknown>;
}

/** The first %-escape run of a query string that is not UTF-8 text, if any. */
function illFormedQueryEscape(query: string): string | null {
  for (const [run] of query.matchAll(PERCENT_ESCAPE_RUN))
    if (utf8Text(Buffer.from(run.replaceAll("%", ""), "hex")) === null) return run;
  return null;
}

/**
 * Node hands header values over as latin1, a character a byte. The headers read as text are
 * UTF-8 (what browsers and curl send): decoded here, once, for every reader after; other bytes
 * are refused.
 */
function decodeTextHeaders(request: FastifyRequest): void {
  for (const name of TEXT_HEADERS) {
    const value = request.raw.headers[name];
    if (typeof value !== "string" || /^[\x20-\x7e]*$/.test(value)) continue;
    const text = utf8Text(Buffer.from(value, "latin1"));
    if (text === null) throw badInput(`the ${name} header is not valid UTF-8 text`);
    request.raw.headers[name] = text;
  }
}

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
 * A query parameter given more than once where the route does not take a list: the parser hands
 * it over as an array, which a parameter the schema does not declare would carry into a handler
 * expecting text (`?approval=a&approval=b` reached the store as a row value: a 500).
 */
function repeatedQueryParameter(request: FastifyRequest): string | null {
  const declared = (
    request.routeOptions.schema?.querystring as { properties?: Record<string, { type?: unknown }> }
  )?.properties;
  const query: unknown = request.query;
  if (typeof query !== "object" || query === null) return null;
  for (const [name, value] of Object.entries(query))
    if (Array.isArray(value) && declared?.[name]?.type !== "array") return name;
  return null;
}

interface BodySchema {
  required?: readonly string[];
  properties?: Record<string, { type?: string | readonly string[] }>;
}

function admits(schema: { type?: string | readonly string[] } | undefined, type: string): boolean {
  const declared = schema?.type;
  return declared === type || (Array.isArray(declared) && declared.includes(type));
}

/**
 * Removes the fields Vault would read as not given: `null` where the schema gives null no meaning
 * of its own, and "" for an optional text field. Go decodes both to the zero value, which Vault's
 * handlers take for "absent"; the Vault CLI and client libraries send them so.
 */
function absentFieldsDropped(body: Record<string, unknown>, schema: BodySchema | undefined): void {
  for (const [name, value] of Object.entries(body)) {
    const field = schema?.properties?.[name];
    if (value === null && !admits(field, "null")) delete body[name];
    else if (value === "" && admits(field, "string") && !schema?.required?.includes(name)) delete body[name];
  }
}

/**
 * A refused request whose body is still arriving (refused before it was read, or cut off at its
 * limit): Fastify would close the connection as soon as the answer is written, and the client,
 * still sending, would often get a reset instead of the answer. The rest is read and dropped.
 */
function drainRefusedBody(request: FastifyRequest, reply: FastifyReply): void {
  reply.removeHeader("connection");
  let drained = 0;
  request.raw.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT_BYTES) request.raw.destroy();
  });
  request.raw.resume();
}

/** The not-found answer, also given before the body of a request to an unknown route is read. */
export function notFoundError(request: FastifyRequest): Error {
  return notFound(`no handler for ${request.method} ${request.url.split("?")[0]}`);
}

/**
 * Installs the door: the URL and header checks as the first onRequest hook (before the token is
 * checked), the body parser, the drain of refused bodies, and the checks of the parsed query.
 */
export function installRequestParsing(app: FastifyInstance): void {
  app.addHook("onRequest", async (request) => {
    // Fastify would read and parse the body of a request to an unknown route for its 404 handler.
    if (request.is404) throw notFoundError(request);
    if (!request.url.startsWith("/v1/")) return; // the web UI's files read no text from a request
    decodeTextHeaders(request);
    // Path parameters are decoded by the router, which answers 400 for escapes that are not UTF-8;
    // fast-querystring keeps such an escape as its literal text, so the query is checked here.
    const queryStart = request.url.indexOf("?");
    if (URL_NUL_ESCAPE.test(request.url)) throw badInput("the URL must not contain NUL characters (%00)");
    const illFormed = queryStart < 0 ? null : illFormedQueryEscape(request.url.slice(queryStart + 1));
    if (illFormed !== null)
      throw badInput(`the query string has a %-escape that is not UTF-8 text (${illFormed.slice(0, 36)})`);
  });

  // As Vault: a body is JSON whatever its Content-Type (curl --data sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.addHook("onSend", async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !request.raw.complete) drainRefusedBody(request, reply);
    return payload;
  });

  app.addHook("preValidation", async (request) => {
    const infinite = infiniteQueryParameter(request.query);
    if (infinite !== null) throw badInput(`querystring.${infinite} must be a finite number`);
    const repeated = repeatedQueryParameter(request);
    if (repeated !== null) throw badInput(`querystring.${repeated} must be given once`);
    const body = request.body;
    if (request.routeOptions.config.vaultShaped && body !== null && typeof body === "object")
      absentFieldsDropped(body as Record<string, unknown>, request.routeOptions.schema?.body as BodySchema);
  });
}
