export { type SinkWriterService, startSinkWriter } from "./service.ts";
export { MANIFEST_PREFIX } from "./sinks/redis/redis-sink.ts";
