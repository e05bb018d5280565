import { describe, expect, it } from "vitest";
import { checkPassword, checkUsername, FREE_FAILURES, lockoutSeconds } from "../../src/core/people.js";

describe("login lockout", () => {
  it("costs nothing for the free failures, then doubles from 1 s, capped at an hour", () => {
    const user = Array.from({ length: 20 }, (_, i) => lockoutSeconds(i + 1, FREE_FAILURES.user));
    expect(user).toEqual([
      0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600, 3600, 3600,
    ]);
    expect(lockoutSeconds(49, FREE_FAILURES.address)).toBe(0);
    expect(lockoutSeconds(50, FREE_FAILURES.address)).toBe(1);
  });
});

describe("people's names and passwords", () => {
  it("accept what they should and refuse the rest", () => {
    expect(checkUsername("alice.smith-2")).toBe("alice.smith-2");
    for (const bad of ["", "Alice", "-alice", "a".repeat(65), "al ice", "alice/../root"])
      expect(() => checkUsername(bad)).toThrow(/username/);
    expect(() => checkPassword("x".repeat(11))).toThrow(/at least 12/);
    expect(() => checkPassword("x".repeat(1025))).toThrow(/at most 1024/);
    expect(checkPassword("x".repeat(12))).toHaveLength(12);
  });
});
