import { describe, expect, it } from "vitest";
import { checkKeyName } from "../../src/core/key-names.js";

describe("key names", () => {
  it.each([
    "sample",
    "sample@sample.com",
    "sample@sample@@sample.com",
    "_private",
    "aws-prod-root",
    "ends-in-dot.",
    "a",
    `a${"@".repeat(126)}b`,
  ])("%s is taken", (name) => {
    expect(checkKeyName(name)).toBe(name);
  });

  it.each(["@sample.com", "sample.com@", "@", "", ".hidden", "-flag", "a/b", "a b", `a${"b".repeat(128)}`])(
    "%j is refused",
    (name) => {
      expect(() => checkKeyName(name)).toThrow(/key name must be/);
    },
  );
});
