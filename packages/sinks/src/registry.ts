import type { z } from "zod";
import type { Sink, SinkDeps } from "./contract.ts";
import type { SinkDescriptor } from "./descriptor.ts";
import { etcd } from "./etcd/index.ts";
import { file } from "./file/index.ts";
import { mongo } from "./mongo/index.ts";
import { postgres } from "./postgres/index.ts";
import { redis } from "./redis/index.ts";
import { s3 } from "./s3/index.ts";
import { ssh } from "./ssh/index.ts";
import { zookeeper } from "./zookeeper/index.ts";

/** Every kind of sink. A bundle's datasource kinds, their configuration types and `createSink` derive from it. */
export const SINKS = { file, redis, postgres, etcd, ssh, zookeeper, mongo, s3 } as const;

export type SinkKind = keyof typeof SINKS;
export const SINK_KINDS = Object.keys(SINKS) as [SinkKind, ...SinkKind[]];

/** The configuration of one kind of sink, defaults applied. */
export type SinkConfig<K extends SinkKind> = z.output<(typeof SINKS)[K]["config"]>;

/** A datasource of the bundle: its name (`<kind>` or `<kind>-<tag>`), kind and configuration. */
export type DatasourceEntry = { [K in SinkKind]: { name: string; kind: K; config: SinkConfig<K> } }[SinkKind];

function descriptorOf(kind: SinkKind): SinkDescriptor<SinkKind, z.ZodType> {
  return SINKS[kind] as unknown as SinkDescriptor<SinkKind, z.ZodType>;
}

/** Builds (and starts connecting) the sink a datasource entry describes. */
export function createSink(entry: DatasourceEntry, deps: SinkDeps): Promise<Sink> {
  return descriptorOf(entry.kind).connect(entry.name, entry.config, deps);
}

/** Parses a raw configuration of `kind` (defaults applied, unknown fields refused) and connects it. */
export function connectSink(kind: SinkKind, name: string, config: unknown, deps: SinkDeps): Promise<Sink> {
  const descriptor = descriptorOf(kind);
  return descriptor.connect(name, descriptor.config.parse(config), deps);
}
