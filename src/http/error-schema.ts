import { ERROR_CODES, type ErrorCode } from "../core/errors.js";

/** The body of every error answer: Vault's `errors`, and the catalogue's `code` with every code's meaning. */
export const errorSchema = {
  type: "object",
  properties: {
    errors: { type: "array", items: { type: "string" } },
    code: {
      type: "string",
      enum: Object.keys(ERROR_CODES) as ErrorCode[],
      description: `what went wrong, for programs to branch on (the message is for people): ${Object.entries(
        ERROR_CODES,
      )
        .map(([code, meaning]) => `${code}: ${meaning}`)
        .join("; ")}`,
    },
  },
} as const;
