import kafkajs, { type Admin, type ITopicConfig } from "kafkajs";
import { retrying } from "../retry.ts";

// kafkajs is CommonJS and Node's named-export detection misses this enum.
const { ConfigResourceTypes } = kafkajs;

const DAY_MS = 86_400_000;

/**
 * The largest record batch every varstream topic takes (`max.message.bytes`, set on the topics it
 * creates: a broker's default is 1 MiB). Producers keep each produce request's batches under half of
 * it; a single key set larger than {@link MAX_KEYSET_BYTES} fails its task instead (FILE_TOO_LARGE).
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** The largest key set record the ETL emits, leaving room for the batch's own overhead. */
export const MAX_KEYSET_BYTES = MAX_RECORD_BYTES - 64 * 1024;

export interface Topics {
  webhooks: string;
  /** webhook events parked after a transient failure, retried by ETL after a backoff */
  webhooksRetry: string;
  keysets: string;
  status: string;
  dlq(stage: string): string;
}

/** Topic names under the configured prefix. */
export function topicNames(prefix: string): Topics {
  return {
    webhooks: `${prefix}webhooks`,
    webhooksRetry: `${prefix}webhooks.retry`,
    keysets: `${prefix}keysets`,
    status: `${prefix}status`,
    dlq: (stage) => `${prefix}dlq.${stage}`,
  };
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** -1: the broker's default.replication.factor */
  replicationFactor?: number;
  config: Record<string, string>;
}

export interface TopicReplication {
  /** replicas per partition; -1 leaves it to the broker's default.replication.factor */
  factor: number;
  /** the topics' min.insync.replicas (with acks=all, writes need this many replicas); unset: the broker's */
  minInsyncReplicas?: number;
}

/**
 * The partition counts and configs of docs/architecture.md#topics. `dlqStages` names the DLQs a service
 * writes; `replication` applies to every topic created.
 */
export function topicSpecs(
  prefix: string,
  partitions: number,
  dlqStages: string[] = [],
  replication: TopicReplication = { factor: -1 },
): TopicSpec[] {
  const t = topicNames(prefix);
  const replicated = (spec: TopicSpec): TopicSpec => ({
    ...spec,
    replicationFactor: replication.factor,
    config: {
      "max.message.bytes": String(MAX_RECORD_BYTES),
      ...spec.config,
      ...(replication.minInsyncReplicas === undefined
        ? {}
        : { "min.insync.replicas": String(replication.minInsyncReplicas) }),
    },
  });
  const specs: TopicSpec[] = [
    { topic: t.webhooks, partitions, config: { "cleanup.policy": "delete", "retention.ms": String(7 * DAY_MS) } },
    { topic: t.webhooksRetry, partitions, config: { "cleanup.policy": "delete", "retention.ms": String(DAY_MS) } },
    { topic: t.keysets, partitions, config: { "cleanup.policy": "compact", "min.compaction.lag.ms": "0" } },
    {
      topic: t.status,
      partitions,
      config: { "cleanup.policy": "compact,delete", "retention.ms": String(7 * DAY_MS) },
    },
    ...dlqStages.map((stage) => ({
      topic: t.dlq(stage),
      partitions: 1,
      config: { "cleanup.policy": "delete", "retention.ms": String(14 * DAY_MS) },
    })),
  ];
  return specs.map(replicated);
}

export class TopicConfigError extends Error {
  override name = "TopicConfigError";
}

function samePolicy(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .split(",")
      .map((p) => p.trim())
      .sort()
      .join(",");
  return norm(a) === norm(b);
}

/**
 * Creates missing topics and checks existing ones. An existing topic with another cleanup policy is an
 * error, never silently changed: a compacted topic turned into a deleting one would lose desired state.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = specs
    .filter((s) => !existing.has(s.topic))
    .map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor ?? -1,
      configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length > 0) {
    try {
      // kafkajs' own waitForLeaders fails on an early UNKNOWN_TOPIC_OR_PARTITION; wait below instead.
      await admin.createTopics({ topics: missing, waitForLeaders: false });
    } catch (err) {
      // Another replica may have created them at the same moment.
      if (!String((err as Error).message).includes("already exists")) throw err;
    }
  }
  // A new topic's leaders may not be known to every broker component yet: wait until they are.
  await retrying(async () => {
    const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
    const leaderless = meta.topics.filter((t) => t.partitions.some((p) => p.leader < 0));
    if (leaderless.length > 0) throw new Error(`no leader yet for ${leaderless.map((t) => t.name).join(", ")}`);
  }, 50);
  // Every topic's policy is checked, not only those listed at first: a topic created a moment ago by
  // someone else (another replica, an operator) may be missing from that list yet exist with another
  // policy — then our create failed with "already exists". Topics this call created pass trivially.
  // Right after another process created them, a broker may still answer that it does not host them.
  const described = await retrying(
    () =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: specs.map((s) => ({
          type: ConfigResourceTypes.TOPIC,
          name: s.topic,
          configNames: ["cleanup.policy"],
        })),
      }),
    20,
  );
  for (const resource of described.resources) {
    const want = specs.find((s) => s.topic === resource.resourceName)?.config["cleanup.policy"];
    const have = resource.configEntries.find((e) => e.configName === "cleanup.policy")?.configValue;
    if (want !== undefined && have !== undefined && !samePolicy(want, have)) {
      throw new TopicConfigError(
        `topic ${resource.resourceName} has cleanup.policy=${have}, expected ${want}; fix or delete the topic`,
      );
    }
  }
}
