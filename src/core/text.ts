import { badInput } from "./errors.js";

/**
 * Free text people type (reasons, approval comments, display names, device fields, custodian
 * names) goes into the audit log, e-mails, webhook messages and terminals. What would let it
 * pass for something else there is refused, in one place:
 * - C0 controls, DEL and C1 controls (U+0080–U+009F: U+0085 is a line break, U+009B starts a
 *   terminal escape as ESC [ does);
 * - line breaks: LF, CR, U+0085, and the Unicode line and paragraph separators U+2028/U+2029,
 *   except that multi-line text (device notes) keeps LF, its one line break;
 * - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they reorder
 *   the text after them on screen ("Trojan Source"), so a reason in an e-mail could read as
 *   another. Arabic and Hebrew need none of them; the marks LRM, RLM and ALM stay allowed;
 * - lone surrogates: not text, and no store keeps them as they are.
 * Letters of every script, accents, emoji and CJK pass.
 */
export type TextShape = "line" | "lines";

/** Every character refused, but LF: C0 and C1 controls, DEL, U+2028/U+2029, bidi controls, lone surrogates. */
const REFUSED_BUT_LF =
  "\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff";
const REFUSED_IN_LINES = new RegExp(`[${REFUSED_BUT_LF}]`, "u");
const REFUSED_IN_LINE = new RegExp(`[\\n${REFUSED_BUT_LF}]`, "u");
const LINE_BREAKS = new Set([0x0a, 0x0d, 0x85, 0x2028, 0x2029]);

/** What is wrong with `text` as free text of this shape ("must …", to follow a field's name), or null. */
export function textProblem(text: string, shape: TextShape = "line"): string | null {
  const found = (shape === "line" ? REFUSED_IN_LINE : REFUSED_IN_LINES).exec(text);
  if (found === null) return null;
  const codePoint = found[0].codePointAt(0) as number;
  const name = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
  if (LINE_BREAKS.has(codePoint))
    return shape === "line"
      ? `must be one line: no line breaks (found ${name})`
      : `must break lines with \\n alone (found ${name})`;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff)
    return `must be well-formed Unicode text (found a lone surrogate, ${name})`;
  if (codePoint >= 0x202a)
    return `must not contain bidirectional override or isolate characters (found ${name})`;
  return `must not contain control characters (found ${name})`;
}

/** `text` as given, or a 400 that names the field and what is wrong. */
export function checkText(text: string, field: string, shape: TextShape = "line"): string {
  const problem = textProblem(text, shape);
  if (problem !== null) throw badInput(`${field} ${problem}`);
  return text;
}
