import type { DatasourceEntry } from "@varstream/shared";
import { FileSink } from "./file/file-sink.ts";
import { RedisSink } from "./redis/redis-sink.ts";
import type { Sink } from "./sink.ts";

/** Builds (and connects) the sink a datasource entry describes. */
export async function createSink(entry: DatasourceEntry): Promise<Sink> {
  switch (entry.kind) {
    case "file":
      return new FileSink(entry.name, entry.config);
    case "redis": {
      const sink = new RedisSink(entry.name, entry.config);
      await sink.connect();
      return sink;
    }
  }
}
