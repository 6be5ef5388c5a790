import { z } from "zod";

/**
 * A configuration field described where it is declared: what it does, and an example when the default
 * says little. The docs' tables (docs/bundle.md, each sink's README) are generated from these.
 */
export function doc<T extends z.ZodType>(schema: T, description: string, example?: unknown): T {
  return schema.meta(example === undefined ? { description } : { description, examples: [example] });
}

/** The optional `tag` of a bundle entry: the `<noun>` is then named `<kind>-<tag>`. */
export const entryTag = (noun: string, example: string) =>
  doc(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/)
      .optional(),
    `names the ${noun} \`<kind>-<tag>\` (needed when a bundle has two of one kind)`,
    example,
  );
