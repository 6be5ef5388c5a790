import { randomBytes } from "node:crypto";
import {
  createKafka,
  createLogger,
  type EtlReport,
  encode,
  ensureTopics,
  type IngestReport,
  loadSettings,
  statusKey,
  topicNames,
  topicSpecs,
} from "@varstream/shared";
import { TEST_KAFKA } from "@varstream/testkit";
import Fastify from "fastify";
import type { Kafka } from "kafkajs";
import { describe, expect, it } from "vitest";
import { taskRoutes } from "../src/routes/tasks.ts";
import { TaskStore } from "../src/tasks/task-store.ts";

const logger = createLogger("test", "silent");
const HOUR = 3_600_000;

function ingest(taskId: string, at: string, deliveryId = `d-${taskId}`): IngestReport {
  return {
    component: "ingest",
    task_id: taskId,
    delivery_id: deliveryId,
    datasource: "file",
    source: "http",
    dry_run: false,
    at,
  };
}

function etl(taskId: string, at: string): EtlReport {
  return {
    component: "etl",
    task_id: taskId,
    outcome: "no_match",
    message: "no matching rule",
    commit: "c",
    files: [],
    scopes: [],
    warnings: [],
    at,
  };
}

describe("task store retention", () => {
  it("forgets finished tasks after the retention, keeps running ones, and lets old delivery ids go", () => {
    // Nothing here reads Kafka: reports are folded in directly.
    const store = new TaskStore(
      {} as Kafka,
      { statusTopic: "s", groupPrefix: "g", retentionMs: 24 * HOUR, dedupeWindowMs: HOUR },
      logger,
    );
    const t0 = Date.parse("2026-11-01T00:00:00.000Z");
    const iso = (offset: number) => new Date(t0 + offset).toISOString();
    store.apply(ingest("done", iso(0)));
    store.apply(etl("done", iso(1000)));
    store.apply(ingest("running", iso(0)));
    expect(store.get("done")?.state).toBe("SUCCEEDED");
    expect(store.findDelivery("file", "d-done", t0 + 1000)).toBe("done");

    store.sweep(t0 + 2 * HOUR);
    expect(store.get("done")).toBeDefined();
    expect(store.findDelivery("file", "d-done", t0 + 2 * HOUR)).toBeUndefined();

    store.sweep(t0 + 25 * HOUR);
    expect(store.get("done")).toBeUndefined();
    expect(store.get("running")?.state).toBe("PENDING");
    expect(store.size).toBe(1);
  });
});

describe("X-Store-Caught-Up", () => {
  it("says false until the store has read the status topic, then nothing", async () => {
    const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString("hex")}.`;
    const settings = loadSettings({ KAFKA_BROKERS: TEST_KAFKA, TOPIC_PREFIX: prefix });
    const kafka = createKafka(settings, logger);
    const topics = topicNames(prefix);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(prefix, 1));
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const report = ingest("from-topic", new Date().toISOString());
    await producer.send({ topic: topics.status, messages: [encode(statusKey(report), report)] });
    await producer.disconnect();

    const store = new TaskStore(
      kafka,
      { statusTopic: topics.status, groupPrefix: prefix, retentionMs: HOUR, dedupeWindowMs: HOUR },
      logger,
    );
    const app = Fastify();
    await app.register(taskRoutes, { store });
    const before = await app.inject({ method: "GET", url: "/v1/tasks" });
    expect(before.headers["x-store-caught-up"]).toBe("false");
    expect(before.json()).toEqual({ tasks: [] });

    await store.start();
    await store.caughtUpPromise;
    const after = await app.inject({ method: "GET", url: "/v1/tasks/from-topic" });
    expect(after.headers["x-store-caught-up"]).toBeUndefined();
    expect(after.json()).toMatchObject({ task_id: "from-topic", state: "PENDING" });
    await store.stop();
    await app.close();
  });
});
