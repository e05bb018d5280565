import fc from "fast-check";
import { anyText } from "./fuzz.js";

/**
 * Random request bodies and query values for the HTTP fuzzers: mostly shaped by the route's own
 * JSON schema (its field names, types near and past their limits, words the API knows), so that
 * requests get past validation into the services, and otherwise any JSON at all.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  required?: string[];
}

/** Words the API understands somewhere: policies, durations, members, events, kinds, dates, names of the fixtures. */
const API_WORDS = [
  "root",
  "default",
  "totp-reader",
  "totp-admin",
  "auditor",
  "admin",
  "operator",
  "member",
  "8h",
  "30m",
  "15m",
  "1s",
  "0",
  "-1h",
  "99999999999999999999h",
  "1e3",
  "60d",
  "group:oncall",
  "user:alice",
  "user:",
  "group:",
  "*",
  "code.read",
  "approval.requested",
  "hardware-totp",
  "fido2",
  "paper-recovery-codes",
  "other",
  "alice@acme.example",
  "a@b",
  "existing",
  "alice",
  "oncall",
  "pending",
  "approved",
  "checked-out",
  "true",
  "null",
  "2025-01-01",
  "2025-13-45",
  "275760-09-13",
  "9999-12-31T23:59:59Z",
  "1970-01-01T00:00:00Z",
  "file",
  "syslog",
  "webhook",
  "udp",
  "tcp",
  "127.0.0.1",
  "https://127.0.0.1:9/hook",
  "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
  "otpauth://totp/Fuzz:x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Fuzz",
  "123456",
  "../../etc/passwd",
  "__proto__",
  "constructor",
];

/** Keys that have bitten JavaScript servers before, besides random ones. */
const ODD_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "", " ", "\u0000"];

const oddNumber = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 1e21, 1e308, -1e308, 5e-324, 0.5),
);

export const apiWord = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...API_WORDS) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...API_WORDS), anyText(8)).map(([word, tail]) => word + tail),
  },
);

const oddString = fc.oneof(
  { weight: 4, arbitrary: anyText(60) },
  { weight: 4, arbitrary: apiWord },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((length) => "A".repeat(length)) },
);

/** Any JSON value, odd ones often: odd strings and numbers, odd keys, nesting. */
export const oddJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    oddString,
    oddNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...ODD_KEYS), fc.string({ maxLength: 10 })), tie("value"), {
      maxKeys: 4,
    }),
  ),
})).value;

/**
 * A value for a field of `schema`: of its type mostly (within and just past its limits), now and
 * then anything; rarely enough that a body of several fields often passes validation.
 */
export function valueFor(schema: JsonSchema): fc.Arbitrary<unknown> {
  const typed = typedValueFor(schema);
  return typed ? fc.oneof({ weight: 12, arbitrary: typed }, { weight: 1, arbitrary: oddJson }) : oddJson;
}

function typedValueFor(schema: JsonSchema): fc.Arbitrary<unknown> | null {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(valueFor));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const arbitraries = types.flatMap((type) => {
    switch (type) {
      case "string": {
        const limit = schema.maxLength ?? 300;
        return [
          fc.oneof(
            { weight: 5, arbitrary: apiWord },
            { weight: 4, arbitrary: oddString },
            { weight: 1, arbitrary: fc.constantFrom(limit, limit + 1).map((length) => "x".repeat(length)) },
          ),
        ];
      }
      case "integer":
      case "number":
        return [
          oddNumber,
          fc.integer({ min: (schema.minimum ?? -10) - 1, max: Math.min(schema.maximum ?? 1000, 10_000) + 1 }),
        ];
      case "boolean":
        return [fc.boolean()];
      case "array": {
        const items = schema.items ? valueFor(schema.items) : oddJson;
        return [
          fc.array(items, { maxLength: 5 }),
          fc.constant(schema.maxItems ?? 1000).map((max) => Array.from({ length: max + 1 }, () => "x")),
        ];
      }
      case "object":
        return [schema.properties ? bodyFor(schema) : (oddJson as fc.Arbitrary<unknown>)];
      case "null":
        return [fc.constant(null)];
      default:
        return [];
    }
  });
  return arbitraries.length > 0 ? fc.oneof(...arbitraries) : null;
}

/** A body for `schema`: some of its fields (all the required ones, often), now and then a stranger. */
export function bodyFor(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([name, field]) => [name, valueFor(field)]),
  );
  const required = schema.required ?? [];
  return fc
    .tuple(
      fc.oneof(fc.record(fields, { requiredKeys: required }), fc.record(fields, { requiredKeys: [] })),
      fc.option(
        fc.dictionary(fc.oneof(fc.constantFrom(...ODD_KEYS), fc.string({ maxLength: 10 })), oddJson, {
          maxKeys: 3,
        }),
        {
          freq: 4,
        },
      ),
    )
    .map(([known, strangers]) => ({ ...(strangers ?? {}), ...known }));
}
