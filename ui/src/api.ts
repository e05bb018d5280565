/**
 * The one way the UI talks to the server: same-origin fetch, JSON, the session cookie (HttpOnly,
 * never visible here) and the CSRF header on every write. Errors carry the server's sentence, to
 * show, and its stable `code` (`APPROVAL_REQUIRED`, …), to branch on: wording changes, codes do not.
 */

import type { ErrorCode } from "../../src/core/errors.js";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The server's stable code beside Vault's `errors` (its one catalogue); undefined when the body has none. */
    readonly code: ErrorCode | undefined = undefined,
  ) {
    super(message);
  }
}

/** The sentence to show for any failure. */
export function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** The server's stable code for a refusal, or undefined (not from the server, or no code). */
export function errorCodeOf(failure: unknown): ErrorCode | undefined {
  return failure instanceof ApiError ? failure.code : undefined;
}

let csrfToken = "";

/** Set from the session answer; sent back on every request that changes something. */
export function useCsrfToken(token: string): void {
  csrfToken = token;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  /** When the answer left the server, as the Date header says (seconds precision), or null. */
  serverDate: number | null;
}

export async function call<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  /** `blob`: a success's body is a file (a backup), given as a Blob; a refusal is still read as JSON. */
  options: { accept?: number[]; headers?: Record<string, string>; blob?: boolean } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined && !(body instanceof Blob)) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-Breakglass-CSRF"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : body instanceof Blob ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "cannot reach the breakglass server: check the network and try again");
  }
  const serverDate = Date.parse(response.headers.get("date") ?? "") || null;
  if (options.blob && response.ok)
    return { status: response.status, body: (await response.blob()) as T, serverDate };
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status >= 400 && !options.accept?.includes(response.status)) {
    const refusal = parsed as { errors?: string[]; code?: unknown } | null;
    throw new ApiError(
      response.status,
      refusal?.errors?.[0] ?? `the server answered ${response.status}`,
      // Same origin, same build: the server's codes are the catalogue's.
      typeof refusal?.code === "string" ? (refusal.code as ErrorCode) : undefined,
    );
  }
  return {
    status: response.status,
    body: parsed as T,
    serverDate,
  };
}

/** The `data` of a Vault-style answer. */
export async function data<T>(method: string, path: string, body?: unknown): Promise<T> {
  const answer = await call<{ data: T }>(method, path, body);
  return answer.body.data;
}
