/**
 * The one way the UI talks to the server: same-origin fetch, JSON, the session cookie (HttpOnly,
 * never visible here) and the CSRF header on every write. Errors carry the server's sentence.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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
  options: { accept?: number[]; headers?: Record<string, string> } = {},
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
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status >= 400 && !options.accept?.includes(response.status)) {
    const errors = (parsed as { errors?: string[] } | null)?.errors;
    throw new ApiError(response.status, errors?.[0] ?? `the server answered ${response.status}`);
  }
  return {
    status: response.status,
    body: parsed as T,
    serverDate: Date.parse(response.headers.get("date") ?? "") || null,
  };
}

/** The `data` of a Vault-style answer. */
export async function data<T>(method: string, path: string, body?: unknown): Promise<T> {
  const answer = await call<{ data: T }>(method, path, body);
  return answer.body.data;
}
