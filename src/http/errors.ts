import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { BreakglassError, type ErrorCode, TooManyAttemptsError } from "../core/errors.js";
import { describeStorageFault } from "../store/storage-faults.js";
import { DEFAULT_BODY_LIMIT_BYTES, describeBytes } from "./body-limits.js";

/** The one place where an error code becomes an HTTP status. Bodies are Vault's `{"errors": [message]}`, with the code beside. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  NOT_INITIALIZED: 400,
  ALREADY_INITIALIZED: 400,
  LOGIN_FAILED: 400,
  OIDC_LOGIN_FAILED: 400,
  REASON_REQUIRED: 400,
  APPROVAL_NOT_NEEDED: 400,
  PERMISSION_DENIED: 403,
  SECOND_FACTOR_REQUIRED: 403,
  APPROVAL_REQUIRED: 403,
  APPROVAL_EXPIRED: 403,
  APPROVAL_NOT_USABLE: 403,
  STEP_UP_REQUIRED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BODY_TOO_LARGE: 413,
  TOO_MANY_ATTEMPTS: 429,
  INTERNAL: 500,
  SEALED: 503,
  AUDIT_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  BUSY: 503,
  UI_NOT_BUILT: 503,
  PROVIDER_UNAVAILABLE: 503,
};

/** Fastify's own refusals (bad JSON, body length), by status; any other 4xx is bad input. */
const CODE_BY_FASTIFY_STATUS: Partial<Record<number, ErrorCode>> = {
  404: "NOT_FOUND",
  413: "BODY_TOO_LARGE",
  429: "TOO_MANY_ATTEMPTS",
};

/** Every error answer: Vault's `errors` (which Vault clients read) and the catalogue's code (which they ignore). */
export function sendError(reply: FastifyReply, code: ErrorCode, messages: string[]): FastifyReply {
  return reply.code(STATUS_BY_CODE[code]).send({ errors: messages, code });
}

export function replyWithError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
  onStorageFault: (error: Error) => void = () => {},
): FastifyReply {
  if (error instanceof TooManyAttemptsError) reply.header("retry-after", String(error.retryAfterSeconds));
  if (error instanceof BreakglassError) return sendError(reply, error.code, [error.message]);
  const fastifyError = error as FastifyError;
  if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES;
    return sendError(reply, "BODY_TOO_LARGE", [
      `the request body is larger than ${describeBytes(limit)}, the most this endpoint takes`,
    ]);
  }
  if (fastifyError.validation) {
    return sendError(reply, "BAD_INPUT", [
      `${fastifyError.validationContext ?? "request"}${describeValidation(fastifyError)}`,
    ]);
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's own refusals (body too large, bad JSON, bad content length): their messages carry no input.
    return reply.code(fastifyError.statusCode).send({
      errors: [fastifyError.message],
      code: CODE_BY_FASTIFY_STATUS[fastifyError.statusCode] ?? "BAD_INPUT",
    });
  }
  const fault = describeStorageFault(error);
  if (fault) {
    // A fault of the machine, not a bug: logged once per interval by the node (storage-write-watch.ts).
    onStorageFault(error);
    return sendError(reply, "STORE_UNAVAILABLE", [
      `storage unavailable: ${fault.text}; nothing was changed or released`,
    ]);
  }
  request.log.error(
    { err: { type: error.name, message: error.message, stack: error.stack } },
    "internal error",
  );
  return sendError(reply, "INTERNAL", [`internal error: see the server log for request ${request.id}`]);
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return " is invalid";
  const path = first.instancePath ? first.instancePath.replace(/^\//, "").replace(/\//g, ".") : "";
  return `${path ? `.${path}` : ""} ${first.message ?? "is invalid"}`;
}
