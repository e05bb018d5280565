import { ERROR_CODES, type ErrorCode } from "../core/errors.js";
import { CliError } from "./output.js";
import { readSavedToken } from "./saved-token.js";

/** The HTTP client every command uses: BREAKGLASS_ADDR, a token, Vault's X-Vault-Token header. */

export const DEFAULT_ADDR = "http://127.0.0.1:8470";

export interface ApiReply {
  status: number;
  /** The parsed JSON body, or null when the body is empty or not JSON. */
  body: unknown;
  text: string;
  /** When the server sent the reply, by its own clock (the Date header), in ms; null if absent. */
  serverDate: number | null;
  receivedAt: number;
}

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Statuses to return rather than raise as errors (e.g. a LIST's 404 meaning "none"). */
  accept?: number[];
  /** Overrides the configured token (login checks a token before saving it). */
  token?: string;
  /** A body of raw bytes, streamed as application/octet-stream (a backup being restored). */
  upload?: AsyncIterable<Uint8Array>;
}

/**
 * A refusal or failure the server answered: its status, the catalogue's `code` (core/errors.ts) to
 * branch on, the server's neutral message and, after a dash, what to run next in this CLI. One line;
 * the HTTP status is shown with --debug only (reportError).
 */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | undefined,
    readonly serverMessage: string,
    hint?: string,
  ) {
    super(hint ? `${serverMessage} — ${hint}` : serverMessage);
  }

  /** The same error with a hint that knows more than the code (the credential's name). */
  withHint(hint: string): ApiError {
    return new ApiError(this.status, this.code, this.serverMessage, hint);
  }

  /** The error a reply carries: Vault's `{"errors": [message]}` with our `code`, or the start of whatever else came back. */
  static of(reply: Pick<ApiReply, "status" | "body" | "text">, token: string | undefined): ApiError {
    const body = reply.body as { errors?: unknown; code?: unknown } | null;
    const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
    const message = typeof first === "string" ? first : reply.text.trim().slice(0, 200) || "request failed";
    const code =
      typeof body?.code === "string" && body.code in ERROR_CODES ? (body.code as ErrorCode) : undefined;
    return new ApiError(reply.status, code, message, hintFor(reply.status, code, token));
  }
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

export class BreakglassClient {
  constructor(
    readonly addr: string,
    private readonly token: string | undefined,
  ) {}

  static fromEnvironment(): BreakglassClient {
    const addr = (process.env.BREAKGLASS_ADDR || DEFAULT_ADDR).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+$/.test(addr))
      throw new CliError(`BREAKGLASS_ADDR must look like http://HOST:PORT or https://HOST:PORT, not ${addr}`);
    return new BreakglassClient(addr, process.env.BREAKGLASS_TOKEN?.trim() || readSavedToken());
  }

  /** Calls the API; any status of 400 or more (unless accepted) becomes an ApiError. */
  async call(method: string, path: string, options: CallOptions = {}): Promise<ApiReply> {
    const response = await this.send(method, path, options);
    const receivedAt = Date.now();
    const text = await response.text();
    const reply: ApiReply = {
      status: response.status,
      body: parseJson(text),
      text,
      serverDate: Date.parse(response.headers.get("date") ?? "") || null,
      receivedAt,
    };
    // Vault's `warnings` (a node whose clock is wrong says so with the code): a person must see them.
    for (const warning of warningsOf(reply.body)) process.stderr.write(`WARNING: ${warning}\n`);
    if (response.status >= 400 && !options.accept?.includes(response.status))
      throw ApiError.of(reply, options.token ?? this.token);
    return reply;
  }

  /** A long text answer (an audit export) as it arrives, chunk by chunk, without holding it all. */
  async *stream(path: string): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    for await (const chunk of this.streamBytes(path)) yield decoder.decode(chunk, { stream: true });
    const rest = decoder.decode();
    if (rest) yield rest;
  }

  /** A long binary answer (a backup) as it arrives. */
  async *streamBytes(path: string): AsyncGenerator<Uint8Array> {
    const response = await this.send("GET", path, {});
    if (response.status >= 400 || !response.body) {
      const text = await response.text();
      throw ApiError.of({ status: response.status, body: parseJson(text), text }, this.token);
    }
    try {
      for await (const chunk of response.body) yield chunk;
    } catch {
      throw new CliError(
        `the answer from ${this.addr} broke off before its end (the server stopped sending it)`,
      );
    }
  }

  private async send(method: string, path: string, options: CallOptions): Promise<Response> {
    const url = new URL(this.addr + path);
    for (const [name, value] of Object.entries(options.query ?? {}))
      if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
    const token = options.token ?? this.token;
    try {
      return await fetch(url, {
        method,
        headers: {
          ...(token ? { "X-Vault-Token": token } : {}),
          ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(options.upload ? { "Content-Type": "application/octet-stream" } : {}),
        },
        ...(options.upload
          ? { body: options.upload as unknown as ReadableStream, duplex: "half" as const }
          : { body: options.body === undefined ? undefined : JSON.stringify(options.body) }),
      });
    } catch (error) {
      throw this.connectionError(error);
    }
  }

  /** The `data` of a Vault-style envelope, or the whole body for endpoints without one (sys/*). */
  async data<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const { body } = await this.call(method, path, options);
    if (body !== null && typeof body === "object" && "data" in body) return body.data as T;
    return (body ?? {}) as T;
  }

  private connectionError(error: unknown): CliError {
    const code = causeCode(error);
    if (code && UNREACHABLE.has(code))
      return new CliError(`cannot reach breakglass at ${this.addr} (is "breakglass server" running?)`);
    const cause = (error as { cause?: unknown })?.cause;
    const detail = code ?? (cause instanceof Error ? cause.message : String(error));
    return new CliError(`cannot reach breakglass at ${this.addr}: ${detail}`);
  }
}

function warningsOf(body: unknown): string[] {
  const warnings = (body as { warnings?: unknown } | null)?.warnings;
  return Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === "string") : [];
}

/** What to run next, by the refusal's code: the server's messages name no command (the web UI shows them too). */
const HINTS: Partial<Record<ErrorCode, string>> = {
  SEALED: "custodians unseal it: breakglass operator unseal",
  NOT_INITIALIZED: "initialise it: breakglass operator init",
  REASON_REQUIRED: 'give --reason "…"',
  APPROVAL_REQUIRED:
    'request one: breakglass approvals request CREDENTIAL --reason "…", then give --approval ID',
  APPROVAL_EXPIRED: 'request a new one: breakglass approvals request CREDENTIAL --reason "…"',
  APPROVAL_NOT_USABLE: "see your requests: breakglass approvals list --mine",
  SECOND_FACTOR_REQUIRED: "enrol one: breakglass mfa enrol, then breakglass mfa confirm CODE",
};

function hintFor(status: number, code: ErrorCode | undefined, token: string | undefined): string | undefined {
  if (status === 403 && !token)
    return "log in first: breakglass login (or set BREAKGLASS_TOKEN or BREAKGLASS_TOKEN_FILE)";
  return code ? HINTS[code] : undefined;
}

function parseJson(text: string): unknown {
  if (text.trim().length === 0) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** fetch hides the socket error in `cause` (an AggregateError when several addresses were tried). */
function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } })?.cause;
  return cause?.code ?? cause?.errors?.[0]?.code;
}
