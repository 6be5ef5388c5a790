import type { z } from "zod";

/** A bundle field's line in docs/bundle.md: what it does, and an example when the default says little. */
export function doc<T extends z.ZodType>(schema: T, description: string, example?: unknown): T {
  return schema.meta(example === undefined ? { description } : { description, examples: [example] });
}
