import { SecretRef } from "@varstream/shared";
import { z } from "zod";

/** A field's line in the sink's docs: what it is for, and an example value when the default says little. */
export function doc<T extends z.ZodType>(schema: T, description: string, example?: unknown): T {
  return schema.meta(example === undefined ? { description } : { description, examples: [example] });
}

/** An entry's tag: the datasource is then named `<kind>-<tag>`. */
export const Tag = doc(
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .optional(),
  "names the datasource `<kind>-<tag>` (needed when a bundle has two of one kind)",
  "cache",
);

/** A credential field: a literal or any secret reference of the bundle, resolved at use and never logged. */
export const credential = (description: string, example?: unknown) => doc(SecretRef, description, example);

/** A sink's configuration: its fields plus `tag`, unknown fields refused. */
export function sinkConfig<S extends z.ZodRawShape>(shape: S) {
  return z.object({ tag: Tag, ...shape }).strict();
}
