import type { DatasourceEntry, Secrets } from "@varstream/shared";
import { EtcdSink } from "./etcd/etcd-sink.ts";
import { FileSink } from "./file/file-sink.ts";
import { PostgresSink } from "./postgres/postgres-sink.ts";
import { RedisSink } from "./redis/redis-sink.ts";
import type { Sink } from "./sink.ts";
import { connectSshSink } from "./ssh/ssh-sink.ts";
import { ZookeeperSink } from "./zookeeper/zookeeper-sink.ts";

/** Builds (and connects) the sink a datasource entry describes. */
export async function createSink(entry: DatasourceEntry, secrets: Secrets): Promise<Sink> {
  switch (entry.kind) {
    case "file":
      return new FileSink(entry.name, entry.config);
    case "redis":
      return RedisSink.connect(entry.name, entry.config, secrets);
    case "postgres":
      return PostgresSink.connect(entry.name, entry.config, secrets);
    case "etcd":
      return EtcdSink.connect(entry.name, entry.config, secrets);
    case "ssh":
      return connectSshSink(entry.name, entry.config, secrets);
    case "zookeeper":
      return ZookeeperSink.connect(entry.name, entry.config, secrets);
  }
}
