import { entryTag } from "@varstream/shared";
import { z } from "zod";

/** A sink's configuration: its fields plus `tag`, unknown fields refused. */
export function sinkConfig<S extends z.ZodRawShape>(shape: S) {
  return z.object({ tag: entryTag("datasource", "cache"), ...shape }).strict();
}
