import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { BreakglassError, type ErrorCode, TooManyAttemptsError } from "../core/errors.js";
import { describeStorageFault } from "../store/storage-faults.js";
import { DEFAULT_BODY_LIMIT_BYTES, describeBytes } from "./body-limits.js";

/** The one place where an error becomes an HTTP status. Bodies are Vault's: {"errors": [message]}. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  NOT_INITIALIZED: 400,
  ALREADY_INITIALIZED: 400,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SEALED: 503,
  AUDIT_UNAVAILABLE: 503,
  STORE_UNAVAILABLE: 503,
  TOO_MANY_ATTEMPTS: 429,
  BUSY: 503,
};

export function replyWithError(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
  onStorageFault: (error: Error) => void = () => {},
): FastifyReply {
  if (error instanceof TooManyAttemptsError) reply.header("retry-after", String(error.retryAfterSeconds));
  if (error instanceof BreakglassError)
    return reply.code(STATUS_BY_CODE[error.code]).send({ errors: [error.message] });
  const fastifyError = error as FastifyError;
  if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES;
    return reply.code(413).send({
      errors: [`the request body is larger than ${describeBytes(limit)}, the most this endpoint takes`],
    });
  }
  if (fastifyError.validation) {
    return reply.code(400).send({
      errors: [`${fastifyError.validationContext ?? "request"}${describeValidation(fastifyError)}`],
    });
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Fastify's own refusals (body too large, bad JSON, bad content length): their messages carry no input.
    return reply.code(fastifyError.statusCode).send({ errors: [fastifyError.message] });
  }
  const fault = describeStorageFault(error);
  if (fault) {
    // A fault of the machine, not a bug: logged once per interval by the node (storage-write-watch.ts).
    onStorageFault(error);
    return reply.code(503).send({
      errors: [`storage unavailable: ${fault.text}; nothing was changed or released`],
    });
  }
  request.log.error(
    { err: { type: error.name, message: error.message, stack: error.stack } },
    "internal error",
  );
  return reply.code(500).send({ errors: [`internal error: see the server log for request ${request.id}`] });
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return " is invalid";
  const path = first.instancePath ? first.instancePath.replace(/^\//, "").replace(/\//g, ".") : "";
  return `${path ? `.${path}` : ""} ${first.message ?? "is invalid"}`;
}
