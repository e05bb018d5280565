import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../support/source-files.js";

/**
 * A handler reads its request through the types of its route's schemas (src/api): a cast of the
 * body, query or params would read fields the schema, and so the OpenAPI document, never declares.
 */

const HTTP = join(import.meta.dirname, "../../src/http");

/** `request.body as …`, `(request.query ?? {}) as …`, `(request.params as …)`. */
const REQUEST_CAST = /\(?\s*request\.(?:body|query|params)\s*(?:\?\?\s*\{\}\s*)?\)?\s+as\s/;

describe("request casts", () => {
  it("no file of src/http casts a request's body, query or params", () => {
    const casts = sourceFiles(HTTP).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, index) => (REQUEST_CAST.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
    );
    expect(casts).toEqual([]);
  });

  it("the check finds the casts it is about", () => {
    for (const line of [
      "const { name } = request.params as { name: string };",
      "const body = (request.body ?? {}) as { key?: string };",
      "const approval = (request.body as { approval?: string } | undefined)?.approval;",
      "filterOf(request.query as FilterQuery)",
    ])
      expect(REQUEST_CAST.test(line), line).toBe(true);
    expect(REQUEST_CAST.test("const { name } = request.params;")).toBe(false);
  });
});
