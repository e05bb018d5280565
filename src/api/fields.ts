import { type TSchemaOptions, Type } from "typebox";

/**
 * Building blocks of the wire contracts (src/api). Each schema is the JSON Schema Fastify validates
 * with and, through TypeBox, the type its handler reads: declared once. Nullable and mixed types
 * keep Vault's `type: [...]` spelling (not anyOf): request-parsing.ts reads it to tell which fields
 * take null, and Ajv coerces query text to the first type listed.
 */

/** Text or null. */
export const nullableText = (options: TSchemaOptions = {}) =>
  Type.Unsafe<string | null>({ type: ["string", "null"], ...options });

/** One of a fixed set of words. */
export const oneOf = <const T extends readonly string[]>(values: T, options: TSchemaOptions = {}) =>
  Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });

/** Seconds, or a duration text such as 8h: `type` lists which Ajv tries first. */
export const secondsOrText = (
  type: readonly ["string", "integer"] | readonly ["integer", "string"],
  options: TSchemaOptions = {},
) => Type.Unsafe<string | number>({ type: [...type], ...options });

/** Vault's LIST as GET ?list=true: any value, since Vault reads list=true, 1 or t alike and these paths only list. */
export const listQuery = Type.Object({ list: Type.Optional(Type.String()) });
