import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per process with every varstream metric (prefix `varstream_`). Services
 * running in one process (the local runner, tests) share it. The process and Node.js metrics keep
 * their standard names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, …), so the stock
 * Node.js dashboards work.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const seconds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const metrics = {
  webhooks: new Counter({
    name: "varstream_webhooks_total",
    help: "Webhooks received, by outcome (accepted, duplicate, ignored, rejected)",
    labelNames: ["outcome", "platform"] as const,
    registers: [registry],
  }),
  stageDuration: new Histogram({
    name: "varstream_stage_duration_seconds",
    help: "Time spent in a pipeline stage",
    labelNames: ["stage"] as const,
    buckets: seconds,
    registers: [registry],
  }),
  endToEnd: new Histogram({
    name: "varstream_end_to_end_seconds",
    help: "From webhook received to key set applied, per sink",
    labelNames: ["sink"] as const,
    buckets: seconds,
    registers: [registry],
  }),
  keys: new Counter({
    name: "varstream_sink_keys_total",
    help: "Keys handled by a sink, by action (set, pruned, unchanged)",
    labelNames: ["sink", "action"] as const,
    registers: [registry],
  }),
  applyDuration: new Histogram({
    name: "varstream_sink_apply_seconds",
    help: "Time to apply one scope to a sink (manifest read, diff, write), successful or not",
    labelNames: ["sink", "outcome"] as const,
    buckets: seconds,
    registers: [registry],
  }),
  retries: new Counter({
    name: "varstream_sink_retries_total",
    help: "Apply attempts retried after a failure",
    labelNames: ["sink"] as const,
    registers: [registry],
  }),
  driftRepaired: new Counter({
    name: "varstream_drift_repaired_keys_total",
    help: "Keys whose stored value had drifted from the desired one and were written again (resync, self-heal)",
    labelNames: ["sink"] as const,
    registers: [registry],
  }),
  orphanedScopes: new Gauge({
    name: "varstream_orphaned_scopes",
    help: "Stored scopes no rule of the bundle produces any more (bundle change), by datasource, as the ETL found them at start",
    labelNames: ["datasource"] as const,
    registers: [registry],
  }),
  rollbacks: new Counter({
    name: "varstream_sink_rollbacks_total",
    help: "Applies rolled back",
    labelNames: ["sink"] as const,
    registers: [registry],
  }),
  dlq: new Counter({
    name: "varstream_dlq_records_total",
    help: "Records sent to a dead-letter topic",
    labelNames: ["stage"] as const,
    registers: [registry],
  }),
  gitFetch: new Histogram({
    name: "varstream_git_fetch_seconds",
    help: "git fetch duration",
    buckets: seconds,
    registers: [registry],
  }),
  gitCache: new Counter({
    name: "varstream_git_cache_total",
    help: "Git commit lookups, by result (hit, fetch)",
    labelNames: ["result"] as const,
    registers: [registry],
  }),
  consumerLag: new Gauge({
    name: "varstream_consumer_lag",
    help: "Offsets of a partition not yet processed by a consumer group (high watermark − next offset), as of its last batch; on a transactional topic a caught-up group shows 1, the commit marker",
    labelNames: ["group", "topic", "partition"] as const,
    registers: [registry],
  }),
  taskStoreSize: new Gauge({
    name: "varstream_task_store_tasks",
    help: "Tasks held by the task store",
    registers: [registry],
  }),
};

/** Records a group's lag on a partition after it processed up to `offset` (a kafkajs batch's `highWatermark`). */
export function observeLag(
  group: string,
  topic: string,
  partition: number,
  highWatermark: string,
  offset: string,
): void {
  metrics.consumerLag.set(
    { group, topic, partition: String(partition) },
    Math.max(0, Number(highWatermark) - Number(offset) - 1),
  );
}
