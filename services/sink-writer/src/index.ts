export { applyDesired } from "./apply/apply.ts";
export type { Desired } from "./apply/plan.ts";
export { planApply } from "./apply/plan.ts";
export { resolveSecrets } from "./apply/secrets.ts";
export { type SinkWriterService, startSinkWriter } from "./service.ts";
export { createSink } from "./sinks/index.ts";
export { MANIFEST_PREFIX } from "./sinks/redis/redis-sink.ts";
export type { Sink } from "./sinks/sink.ts";
