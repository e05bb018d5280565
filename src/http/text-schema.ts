import { type TextShape, textProblem } from "../core/text.js";

/**
 * Free text in a route's schema: `"x-text": "line"` (or `"lines"`) on a string field checks it with
 * core/text.ts as the body or query is validated, so the field is declared, documented (the OpenAPI
 * document shows the keyword) and checked in one place, and a refusal is a 400 naming the field:
 * `body.reason must be one line: no line breaks (found U+000A)`.
 */
export const TEXT_KEYWORD = "x-text";

interface TextCheck {
  (shape: TextShape, data: string): boolean;
  errors?: { keyword: string; message: string; params: Record<string, unknown> }[];
}

const checkTextField: TextCheck = (shape, data) => {
  const problem = textProblem(data, shape);
  checkTextField.errors = problem === null ? [] : [{ keyword: TEXT_KEYWORD, message: problem, params: {} }];
  return problem === null;
};

/** The keyword's definition, for Ajv (`keywords` in the app's validator options). */
export const textKeyword = {
  keyword: TEXT_KEYWORD,
  type: "string" as const,
  schemaType: "string" as const,
  metaSchema: { enum: ["line", "lines"] },
  errors: true,
  validate: checkTextField,
};
