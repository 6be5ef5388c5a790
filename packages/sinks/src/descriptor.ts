import type { z } from "zod";
import type { Sink, SinkDeps } from "./contract.ts";

/**
 * Everything the rest of varstream knows about one kind of sink: its name in a bundle, what its store
 * holds, its configuration (the schema is the parser, the defaults and the docs' table at once) and how
 * to connect one. Each `sinks/<kind>/index.ts` exports one; `registry.ts` lists them.
 */
export interface SinkDescriptor<K extends string = string, C extends z.ZodType = z.ZodType> {
  readonly kind: K;
  /** one line for the docs: what a destination becomes in the store */
  readonly summary: string;
  readonly config: C;
  /** builds the sink of a datasource named `name`; a store that is down makes applies fail, not this */
  connect(name: string, config: z.output<C>, deps: SinkDeps): Promise<Sink>;
}

export function defineSink<K extends string, C extends z.ZodType>(descriptor: SinkDescriptor<K, C>) {
  return descriptor;
}
