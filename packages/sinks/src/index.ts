export { type ApplyOptions, applyDesired } from "./apply.ts";
export type { ApplyPlan, Claim, Manifest, RecordPosition, Sink, SinkDeps } from "./contract.ts";
export { refuseOlder, StaleWriteError } from "./contract.ts";
export { defineSink, type SinkDescriptor } from "./descriptor.ts";
export { type Desired, type PlanOptions, planAgainst, planApply, valueHash } from "./plan.ts";
export { MANIFEST_PREFIX } from "./redis/redis-sink.ts";
export {
  connectSink,
  createSink,
  type DatasourceEntry,
  SINK_KINDS,
  SINKS,
  type SinkConfig,
  type SinkKind,
} from "./registry.ts";
export { resolveSecrets } from "./secrets.ts";
