import { defineSink } from "../descriptor.ts";
import { EtcdSinkConfig } from "./config.ts";
import { EtcdSink } from "./etcd-sink.ts";

export const etcd = defineSink({
  kind: "etcd",
  summary: "a key per config key under `<prefix><destination>/` in etcd v3",
  config: EtcdSinkConfig,
  connect: (name, config, deps) => EtcdSink.connect(name, config, deps),
});
