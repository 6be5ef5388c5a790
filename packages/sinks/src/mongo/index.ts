import { defineSink } from "../descriptor.ts";
import { MongoSinkConfig } from "./config.ts";
import { MongoSink } from "./mongo-sink.ts";

export const mongo = defineSink({
  kind: "mongo",
  summary:
    "a document per config key, `{destination, key, value}`, or per source file (`layout: file`), in MongoDB (or FerretDB)",
  config: MongoSinkConfig,
  connect: (name, config, deps) => MongoSink.connect(name, config, deps),
});
