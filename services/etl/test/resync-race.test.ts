import { randomUUID } from "node:crypto";
import { createLogger, etlReport, type KeySet, type ResyncEvent, scopeKey } from "@varstream/shared";
import { makeKeySet, TEST_KAFKA } from "@varstream/testkit";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DesiredStateSource, resync } from "../src/resync.ts";

/**
 * A refetch reads Git while pushes go on. Found by the chaos run (a whole destination back one round for
 * about two seconds after a broker restart): a push that landed while the tip was being read was
 * outranked by the older state the read returned, because that state was versioned above the scope's
 * version as it stood after the read. The stored key set is real (a keysets topic on the test broker);
 * the read itself is the ETL's own processing, stood in for by a function that lets the push land.
 */
describe("refetch racing a push", () => {
  const kafka = new Kafka({ brokers: [TEST_KAFKA], clientId: "resync-race", logLevel: logLevel.NOTHING });
  const prefix = `trace${randomUUID().slice(0, 8)}.`;
  const topic = `${prefix}keysets`;
  const scope = { datasource: "redis", destination: "app", repo: "acme/c", file: "app.yaml" };
  const stored = makeKeySet(
    scope,
    { round: 1 },
    {
      task_id: "push-1",
      commit: "c1",
      version: 1_000,
      clone_url: "file:///nowhere/acme/c",
      platform: "github",
    },
  );

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: scopeKey(scope), value: JSON.stringify(stored) }] });
    await producer.disconnect();
  });
  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  /** The source of a refetch whose read of the tip returns round 2; `duringRead` runs while it reads. */
  const source = (version: { now: number }, duringRead: () => void): DesiredStateSource => ({
    kafka,
    topic,
    groupPrefix: prefix,
    logger: createLogger("test", "silent"),
    branchTip: async () => "c2",
    process: async (event) => {
      duringRead();
      const read: KeySet = { ...stored, task_id: event.task_id, commit: "c2", keys: { round: 2 } };
      delete read.version;
      return { keysets: [read], tombstones: [], report: etlReport(event.task_id, "c2").emitted("read") };
    },
    currentVersion: () => version.now,
  });
  const event = (): ResyncEvent => ({
    kind: "resync",
    task_id: randomUUID(),
    source: "http",
    datasource: "redis",
    filters: {},
    refetch: true,
    // an old request: its own time must not decide the version
    received_at: new Date(500).toISOString(),
  });

  it("versions what it read just above the scope as it stood before the read", async () => {
    const version = { now: 1_000 };
    const out = await resync(
      event(),
      source(version, () => undefined),
    );
    expect(out.keysets.map((k) => [k.keys, k.version])).toEqual([[{ round: 2 }, 1_001]]);
  });

  it("leaves a scope out when a push landed while Git was read, instead of outranking it", async () => {
    const version = { now: 1_000 };
    // the push of round 3 is emitted (version 5,000) while the tip, still at round 2, is being read
    const out = await resync(
      event(),
      source(version, () => {
        version.now = 5_000;
      }),
    );
    expect(out.keysets).toEqual([]); // neither the read (round 2) nor the stored round 1
    expect(out.report.warnings.join(" ")).toMatch(/a push landed while Git was read/);
  });
});
