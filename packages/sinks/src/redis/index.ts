import { defineSink } from "../descriptor.ts";
import { RedisSinkConfig } from "./config.ts";
import { RedisSink } from "./redis-sink.ts";

export const redis = defineSink({
  kind: "redis",
  summary: "a hash per destination (or one key per config key, or one JSON value) in Redis",
  config: RedisSinkConfig,
  connect: (name, config, deps) => RedisSink.connect(name, config, deps),
});
