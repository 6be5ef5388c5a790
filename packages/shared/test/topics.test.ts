import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, createLogger, ensureTopics, loadSettings, TopicConfigError, topicSpecs } from "../src/index.ts";

const settings = loadSettings({ KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? "127.0.0.1:39092" });
const kafka = createKafka(settings, createLogger("test", "silent"));
const admin = kafka.admin();

describe("topics against the real broker", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("creates the topics of docs/architecture.md#topics with their partitions and cleanup policies, idempotently", async () => {
    const prefix = `topics${randomBytes(3).toString("hex")}.`;
    const specs = topicSpecs(prefix, 3, ["etl"]);
    await ensureTopics(admin, specs);
    await ensureTopics(admin, specs);
    const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
    expect(Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]))).toEqual({
      [`${prefix}webhooks`]: 3,
      [`${prefix}webhooks.retry`]: 3,
      [`${prefix}keysets`]: 3,
      [`${prefix}status`]: 3,
      [`${prefix}dlq.etl`]: 1,
    });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: specs.map((s) => ({ type: 2, name: s.topic, configNames: ["cleanup.policy"] })),
    });
    const policies = Object.fromEntries(
      configs.resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue]),
    );
    expect(policies).toEqual({
      [`${prefix}webhooks`]: "delete",
      [`${prefix}webhooks.retry`]: "delete",
      [`${prefix}keysets`]: "compact",
      [`${prefix}status`]: "compact,delete",
      [`${prefix}dlq.etl`]: "delete",
    });
  });

  it("refuses an existing topic whose cleanup policy is wrong instead of changing it", async () => {
    const prefix = `topics${randomBytes(3).toString("hex")}.`;
    // kafkajs' own waitForLeaders reads metadata before the broker knows the topic and fails with "This
    // server does not host this topic-partition"; ensureTopics waits for the leader itself.
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        { topic: `${prefix}keysets`, numPartitions: 1, configEntries: [{ name: "cleanup.policy", value: "delete" }] },
      ],
    });
    await expect(ensureTopics(admin, topicSpecs(prefix, 1))).rejects.toThrow(TopicConfigError);
    await expect(ensureTopics(admin, topicSpecs(prefix, 1))).rejects.toThrow(/cleanup.policy=delete, expected compact/);
  });
});
