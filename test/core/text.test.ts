import { describe, expect, it } from "vitest";
import { checkText, textProblem } from "../../src/core/text.js";

/** Free text people type: what would let it pass for something else in a log, an e-mail or a terminal is refused. */

const ORDINARY = [
  "INC-4411 billing lockout",
  "Zoë's café — naïve façade, Ærøskøbing",
  "vérifier la facture 🧾🔐",
  "障害対応 INC-12 请求",
  "طلب دخول للطوارئ",
  "שורש החשבון",
];

const REFUSED_IN_BOTH: [string, string][] = [
  ["\u0000", "NUL"],
  ["\u001b", "ESC"],
  ["\t", "TAB"],
  ["\r", "CR"],
  ["\u007f", "DEL"],
  ["\u0085", "NEL (C1)"],
  ["\u009b", "CSI (C1)"],
  ["\u2028", "LINE SEPARATOR"],
  ["\u2029", "PARAGRAPH SEPARATOR"],
  ["\u202a", "LEFT-TO-RIGHT EMBEDDING"],
  ["\u202e", "RIGHT-TO-LEFT OVERRIDE"],
  ["\u2066", "LEFT-TO-RIGHT ISOLATE"],
  ["\u2069", "POP DIRECTIONAL ISOLATE"],
  ["\ud800", "a lone high surrogate"],
  ["\udc00", "a lone low surrogate"],
];

describe("one line of free text", () => {
  it.each(ORDINARY)("passes ordinary text in any script, with accents and emoji: %s", (text) => {
    expect(textProblem(text)).toBeNull();
    expect(checkText(text, "reason")).toBe(text);
  });

  it("keeps the marks LRM, RLM and ALM, which reorder nothing beyond themselves", () => {
    expect(textProblem("abc\u200e\u200f\u061c")).toBeNull();
  });

  it.each(REFUSED_IN_BOTH)("refuses %j (%s) wherever it stands", (character) => {
    expect(textProblem(`before${character}after`)).not.toBeNull();
    expect(textProblem(`${character}`)).not.toBeNull();
  });

  it("refuses LF", () => {
    expect(textProblem("one\ntwo")).toBe("must be one line: no line breaks (found U+000A)");
  });

  it("names the field, what is wrong and the character found", () => {
    expect(() => checkText("deploy\u001b[2Jdone", "comment")).toThrow(
      "comment must not contain control characters (found U+001B)",
    );
    expect(() => checkText("a\u0085b", "reason")).toThrow(
      "reason must be one line: no line breaks (found U+0085)",
    );
    expect(() => checkText("read \u202eevil", "reason")).toThrow(
      "reason must not contain bidirectional override or isolate characters (found U+202E)",
    );
    expect(() => checkText("x\ud800", "label")).toThrow(
      "label must be well-formed Unicode text (found a lone surrogate, U+D800)",
    );
  });
});

describe("multi-line free text", () => {
  it("keeps LF as its line break", () => {
    expect(textProblem("first line\nsecond line 📦\n", "lines")).toBeNull();
  });

  it("refuses CR, even as CRLF, and the other line breaks", () => {
    expect(textProblem("a\r\nb", "lines")).toBe("must break lines with \\n alone (found U+000D)");
    expect(textProblem("a\u2028b", "lines")).toBe("must break lines with \\n alone (found U+2028)");
  });

  it.each(REFUSED_IN_BOTH)("refuses %j (%s)", (character) => {
    expect(textProblem(`line\n${character}`, "lines")).not.toBeNull();
  });
});
