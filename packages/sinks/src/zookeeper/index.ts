import { defineSink } from "../descriptor.ts";
import { ZookeeperSinkConfig } from "./config.ts";
import { ZookeeperSink } from "./zookeeper-sink.ts";

export const zookeeper = defineSink({
  kind: "zookeeper",
  summary: "a znode per config key under `<root>/<destination>/` in ZooKeeper",
  config: ZookeeperSinkConfig,
  connect: (name, config, deps) => ZookeeperSink.connect(name, config, deps),
});
