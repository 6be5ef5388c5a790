import { defineSink } from "../descriptor.ts";
import { S3SinkConfig } from "./config.ts";
import { S3Sink } from "./s3-sink.ts";

export const s3 = defineSink({
  kind: "s3",
  summary: "the file sink's rendered files as objects of an S3 bucket (AWS, MinIO, versitygw, …)",
  config: S3SinkConfig,
  connect: (name, config, deps) => S3Sink.open(name, config, deps),
});
