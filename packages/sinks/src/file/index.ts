import { defineSink } from "../descriptor.ts";
import { FileSinkConfig } from "./config.ts";
import { FileSink } from "./file-sink.ts";

export const file = defineSink({
  kind: "file",
  summary: "one file per destination (json, yaml, env or properties) under a local folder",
  config: FileSinkConfig,
  connect: (name, config, deps) => FileSink.connect(name, config, deps),
});
