import { defineSink } from "../descriptor.ts";
import { PostgresSinkConfig } from "./config.ts";
import { PostgresSink } from "./postgres-sink.ts";

export const postgres = defineSink({
  kind: "postgres",
  summary: "a row per key in a PostgreSQL table, manifests in a sibling table",
  config: PostgresSinkConfig,
  connect: (name, config, deps) => PostgresSink.connect(name, config, deps),
});
