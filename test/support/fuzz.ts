import fc from "fast-check";
import { BreakglassError } from "../../src/core/errors.js";
import { TEST_ENGINE } from "./storage.js";

/**
 * The fuzz suites (test/fuzz): how many cases each property tries — 1000 by default (CI), more
 * with BREAKGLASS_FUZZ_RUNS (npm run test:fuzz) — and what counts as a clean refusal.
 */

function fuzzRunsFromEnvironment(): number {
  const text = process.env.BREAKGLASS_FUZZ_RUNS;
  if (text === undefined || text === "") return 1000;
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`BREAKGLASS_FUZZ_RUNS must be a whole number of cases, not ${text}`);
  return runs;
}

export const FUZZ_RUNS = fuzzRunsFromEnvironment();

/**
 * A test's time limit, grown with the run count so that a nightly run of 20,000 cases fits: a
 * parser that hangs still fails the test, and no single case is timed. 150 ms a case: 1,000 key
 * creations on PostgreSQL took over 60 s on this 2-core machine while other work ran.
 */
export const FUZZ_TEST_TIMEOUT_MS = Math.max(150_000, FUZZ_RUNS * 150);

/** fast-check's parameters for one property: FUZZ_RUNS cases, the explicit examples first. */
export function fuzzParameters<T>(examples: T[] = []): fc.Parameters<T> {
  return { numRuns: FUZZ_RUNS + examples.length, examples };
}

/** The one failure a parser may show a caller: a bad-input refusal with a message. */
export function isBadInputRefusal(error: unknown): boolean {
  return error instanceof BreakglassError && error.code === "BAD_INPUT" && error.message.length > 0;
}

export const refused = Symbol("refused with a bad-input error");

/** Runs `parse`; the value when it accepted, `refused` when it refused cleanly, and anything else thrown on. */
export function parseOrRefuse<T>(parse: () => T): T | typeof refused {
  try {
    return parse();
  } catch (error) {
    if (isBadInputRefusal(error)) return refused;
    throw error;
  }
}

export async function parseOrRefuseAsync<T>(parse: () => Promise<T>): Promise<T | typeof refused> {
  try {
    return await parse();
  } catch (error) {
    if (isBadInputRefusal(error)) return refused;
    throw error;
  }
}

/**
 * For fuzzers whose input never reaches the store (pure parsers, say): true outside the SQLite
 * pass, after saying so and why. They would test the same code again in the PostgreSQL pass.
 */
export function skipOutsideSqlitePass(what: string, why = "they touch no storage"): boolean {
  if (TEST_ENGINE === "sqlite") return false;
  console.warn(`${what}: skipped in the ${TEST_ENGINE} pass (${why}); they run in the SQLite pass only`);
  return true;
}

/** Text of every kind: printable, any code point, and raw UTF-16 units with lone surrogates and NULs. */
export const anyText = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: "binary-ascii", maxLength }),
    fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
      maxLength,
    }),
  );

/** One random edit of `text`: a character replaced, inserted or removed, a slice cut or repeated. */
export const mutatedText = (text: string): fc.Arbitrary<string> =>
  fc
    .tuple(fc.nat({ max: Math.max(0, text.length) }), fc.nat({ max: 20 }), anyText(8), fc.nat({ max: 4 }))
    .map(([at, length, insert, kind]) => {
      const before = text.slice(0, at);
      const after = text.slice(at);
      switch (kind) {
        case 0:
          return before + insert + after.slice(1);
        case 1:
          return before + insert + after;
        case 2:
          return before + after.slice(length);
        case 3:
          return before;
        default:
          return before + after.slice(0, length) + after;
      }
    });

/** A few random edits of `text` in a row. */
export const mutationsOf = (text: string, maxEdits = 3): fc.Arbitrary<string> =>
  fc.integer({ min: 1, max: maxEdits }).chain((edits) => {
    let arbitrary = mutatedText(text);
    for (let i = 1; i < edits; i++) arbitrary = arbitrary.chain(mutatedText);
    return arbitrary;
  });

/** One random edit of `bytes`: bytes flipped, inserted, removed, or the tail cut off. */
export const mutatedBytes = (bytes: Uint8Array): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      fc.nat({ max: Math.max(0, bytes.length - 1) }),
      fc.uint8Array({ minLength: 1, maxLength: 8 }),
      fc.nat({ max: 3 }),
    )
    .map(([at, patch, kind]) => {
      const original = Buffer.from(bytes);
      switch (kind) {
        case 0:
          for (const [i, byte] of patch.entries())
            if (at + i < original.length) original[at + i] = (original[at + i] as number) ^ (byte || 1);
          return original;
        case 1:
          return Buffer.concat([original.subarray(0, at), patch, original.subarray(at)]);
        case 2:
          return Buffer.concat([original.subarray(0, at), original.subarray(at + patch.length)]);
        default:
          return original.subarray(0, at);
      }
    });
