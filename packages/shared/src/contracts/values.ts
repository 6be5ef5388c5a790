import { z } from "zod";

/**
 * A flattened leaf value: scalars keep their type; empty maps and arrays are kept as `{}`/`[]`.
 */
export const FlatValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.object({}).strict(),
  z.array(z.never()).max(0),
]);
export type FlatValue = string | number | boolean | null | Record<string, never> | never[];

export const FlatType = z.enum(["string", "number", "boolean", "null", "map", "list"]);
export type FlatType = z.infer<typeof FlatType>;

export function typeOf(value: FlatValue): FlatType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    default:
      return "map";
  }
}

/** The text a string-only sink stores: `true`, `42`, `1.5`, `""` for null, `{}`/`[]` for empty containers. */
export function canonicalText(value: FlatValue): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return Array.isArray(value) ? "[]" : "{}";
}
