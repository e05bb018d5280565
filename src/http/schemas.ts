/** JSON schemas shared by several routes. */

export const errorSchema = {
  type: "object",
  properties: { errors: { type: "array", items: { type: "string" } } },
} as const;

export const keyNameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", maxLength: 128, description: "the key's name" } },
} as const;

/** Wraps a data schema in Vault's response envelope. */
export function dataEnvelope(properties: Record<string, unknown>) {
  return { type: "object", properties: { data: { type: "object", properties } } } as const;
}
