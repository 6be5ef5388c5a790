import { defineSink } from "../descriptor.ts";
import { MongoSinkConfig } from "./config.ts";
import { MongoSink } from "./mongo-sink.ts";

export const mongo = defineSink({
  kind: "mongo",
  summary: "a document per config key, `{destination, key, value}`, in MongoDB (or FerretDB)",
  config: MongoSinkConfig,
  connect: (name, config, deps) => MongoSink.connect(name, config, deps),
});
