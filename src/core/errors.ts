/**
 * Every failure a caller can cause or see, with a stable code. The HTTP layer maps codes to
 * statuses in one place (http/errors.ts); nothing else decides a status.
 * Messages are user-facing, lower-case, and never contain a secret.
 */
export type ErrorCode =
  | "BAD_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PERMISSION_DENIED"
  | "SEALED"
  | "NOT_INITIALIZED"
  | "ALREADY_INITIALIZED"
  | "AUDIT_UNAVAILABLE"
  | "STORE_UNAVAILABLE"
  | "TOO_MANY_ATTEMPTS"
  | "BUSY";

export class BreakglassError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BreakglassError";
  }
}

/** A refusal that lifts by itself: the HTTP layer tells the client when (Retry-After). */
export class TooManyAttemptsError extends BreakglassError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super("TOO_MANY_ATTEMPTS", message);
  }
}

export const badInput = (message: string) => new BreakglassError("BAD_INPUT", message);
export const notFound = (message: string) => new BreakglassError("NOT_FOUND", message);
export const conflict = (message: string) => new BreakglassError("CONFLICT", message);
export const permissionDenied = (message = "permission denied") =>
  new BreakglassError("PERMISSION_DENIED", message);
/** The server is doing as much of this work as it takes at once: try again shortly (503). */
export const busy = (message: string) => new BreakglassError("BUSY", message);
export const sealedError = () => new BreakglassError("SEALED", "Vault is sealed");
/** `cause`, when known, names a fault of the machine (storage-faults.ts), never anything from a request. */
export const auditUnavailable = (cause?: string) =>
  new BreakglassError(
    "AUDIT_UNAVAILABLE",
    `audit log unavailable${cause ? ` (${cause})` : ""}: the request was refused and nothing was released`,
  );
