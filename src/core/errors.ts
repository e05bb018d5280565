/**
 * Every failure a caller can cause or see, with a stable code: the one catalogue of codes. The
 * HTTP layer maps codes to statuses in one place (http/errors.ts) and sends the code beside Vault's
 * `errors` (`{"errors": [message], "code": "APPROVAL_REQUIRED"}`); the UI and the CLI branch on
 * codes, never on wording. Messages are user-facing, lower-case, and never contain a secret.
 */
export const ERROR_CODES = {
  BAD_INPUT: "the request is malformed or a value is invalid; the message says which",
  NOT_FOUND: "no such thing (or no such endpoint); a LIST with nothing in it is this, with no message",
  CONFLICT: "the thing changed or exists already; look again and retry",
  PERMISSION_DENIED: "no valid token, or the token's roles or the credential's access rule do not allow it",
  SECOND_FACTOR_REQUIRED:
    "the person must enable a second factor before anything else (POST /v1/auth/userpass/mfa, then …/mfa/confirm)",
  LOGIN_FAILED: "the username, password or second-factor code is wrong (the answer never says which)",
  OIDC_LOGIN_FAILED:
    "the sign-in with the identity provider could not be completed (refused, tampered, expired or used already): the message says why; sign in again",
  PROVIDER_UNAVAILABLE: "the identity provider cannot be reached: nothing was changed; retry shortly",
  REASON_REQUIRED:
    "the credential's access rule asks for a reason, and none was given: give it as ?reason=… or the X-Breakglass-Reason header",
  APPROVAL_REQUIRED:
    'the credential needs approvals: none was given, or the one given no longer has enough; request one (POST /v1/approvals {"key", "reason"}) and read with ?approval=ID once approved',
  APPROVAL_EXPIRED:
    "the approval given was approved, but its time to be used has passed: request a new one (POST /v1/approvals)",
  APPROVAL_NOT_USABLE:
    "the approval given is not the caller's for this credential, not approved (yet), or for another reason",
  STEP_UP_REQUIRED:
    'the action needs a fresh passkey assertion bound to it: none was given, or the one given is expired, used or for another action; begin one (POST /v1/auth/passkey/step-up/begin {"action", "target"}) and send it as the X-Breakglass-Step-Up header (or the approval\'s step_up field)',
  APPROVAL_NOT_NEEDED: "an approval was requested for a credential whose rule needs none: read it directly",
  SEALED: "the server is sealed: unseal it with the custodians' shares",
  NOT_INITIALIZED: "the server has not been initialised yet",
  ALREADY_INITIALIZED: "the server is initialised already",
  AUDIT_UNAVAILABLE: "the audit log (or a required audit sink) cannot record: nothing was released",
  STORE_UNAVAILABLE: "the database or the disk is failing: nothing was changed or released; retry later",
  TOO_MANY_ATTEMPTS: "too many requests or failed attempts: retry after the Retry-After header's seconds",
  BUSY: "the server is doing as much of this work as it takes at once: retry shortly",
  BODY_TOO_LARGE: "the request body is larger than this endpoint takes",
  UI_NOT_BUILT: "the web UI's files are missing on this server (npm run build)",
  INTERNAL: "a bug: the server log has the details under the request id",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

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
