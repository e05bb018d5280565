import { describe, expect, it } from "vitest";
import { sameSecret } from "../../src/core/constant-time.js";

/** The one comparison of secrets (timing is not measured here: the machine is shared and noisy). */
describe("sameSecret", () => {
  it("is true for equal bytes or text, and false for any difference, of content or of length", () => {
    expect(sameSecret(Buffer.from("abc"), Buffer.from("abc"))).toBe(true);
    expect(sameSecret("csrf-token", "csrf-token")).toBe(true);
    expect(sameSecret("csrf-token", Buffer.from("csrf-token"))).toBe(true);
    expect(sameSecret("csrf-token", "csrf-tokem")).toBe(false);
    expect(sameSecret("csrf-token", "csrf-token-")).toBe(false);
    expect(sameSecret("", "x")).toBe(false);
    expect(sameSecret(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
  });
});
